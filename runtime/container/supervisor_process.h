// The supervisor process (SupervisorHandle::spawn starts it): runs the
// container, and again as its restart policy says, then exits with the
// last exit code.
#pragma once

#include <filesystem>
#include <string>

#include "util/fd.h"

namespace mctr::container {

// `status_fd`: the socket to the CLI (protocol.h).
// `netns`: the network namespace the CLI made in advance (or none), for its first start.
[[noreturn]] void supervisor_main(const std::filesystem::path& root, const std::string& id, int status_fd,
                                  bool attached, UniqueFd netns);

}  // namespace mctr::container
