// The supervisor process (SupervisorHandle::launch forks it): runs the
// container, and again as its restart policy says, then exits with the
// last exit code.
#pragma once

#include <filesystem>
#include <string>

#include "container/config.h"

namespace mctr::container {

// `status_fd`: the socket to the CLI (protocol.h); `cfg`: the container's
// config when the caller had it (run), else it is read from the store.
[[noreturn]] void supervisor_main(const std::filesystem::path& root, const std::string& id, int status_fd,
                                  bool attached, const Config* cfg);

}  // namespace mctr::container
