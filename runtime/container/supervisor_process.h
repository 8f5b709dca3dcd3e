// The supervisor process (SupervisorHandle::spawn starts it): runs the
// container, and again as its restart policy says, then exits with the
// last exit code.
#pragma once

#include <filesystem>
#include <string>

#include "util/fd.h"

namespace mctr::container {

// The network namespace the CLI makes in advance, for the first start: it
// sends "go" first and the namespace (NetNs) once made, so that the start's
// first steps run meanwhile. take() receives it, once.
class NetworkNamespaceFromCli {
 public:
  NetworkNamespaceFromCli(int status_fd, bool follows) : status_fd_(status_fd), follows_(follows) {}
  // None if none follows (any more), or the CLI could not make one.
  UniqueFd take();

 private:
  int status_fd_;
  bool follows_;
};

// What the CLI made in advance for the first start: the overlay
// (make_overlay_in_advance), which came with "go", and the network namespace.
struct MadeByCli {
  UniqueFd overlay;
  NetworkNamespaceFromCli netns;
};

// `status_fd`: the socket to the CLI (protocol.h).
[[noreturn]] void supervisor_main(const std::filesystem::path& root, const std::string& id, int status_fd,
                                  bool attached, MadeByCli in_advance);

}  // namespace mctr::container
