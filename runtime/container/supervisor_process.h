// The supervisor process (SupervisorHandle::spawn starts it): runs the
// container, and again as its restart policy says, then exits with the
// last exit code.
#pragma once

#include <filesystem>
#include <string>

#include "container/network_in_advance.h"

namespace mctr::container {

// `status_fd`: the socket to the CLI (protocol.h).
// `netns`: made before the container existed, for its first start.
[[noreturn]] void supervisor_main(const std::filesystem::path& root, const std::string& id, int status_fd,
                                  bool attached, NetworkNamespaceInAdvance& netns);

}  // namespace mctr::container
