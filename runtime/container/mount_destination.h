// Where a `-v` mount may go inside the container. Docker and runc refuse the
// places the runtime itself builds: the root (the image), /proc (a fresh
// procfs, whose masks the container's security relies on) and /dev (the
// runtime's own device nodes). A bind of the host's / or /proc there would
// hand the container the host itself.
#pragma once

#include <string>

namespace mctr::container {

// "/a//b/./c/../d/" -> "/a/b/d": lexical, no symlinks followed (the path is
// inside a rootfs that does not exist yet). ".." never climbs above "/".
std::string normalize_container_path(const std::string& path);

// The destination of `spec` (for the message), normalised. Throws
// mctr::Error (exit 125) when it is relative, "/", "/dev", "/proc", or inside
// /proc other than the few files lxcfs emulates (runc's list).
std::string checked_mount_destination(const std::string& spec, const std::string& destination);

}  // namespace mctr::container
