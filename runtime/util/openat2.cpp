#include "util/openat2.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"

namespace mctr::fs {

namespace {
// A host busy renaming can make every walk race; give up then rather than spin.
constexpr int kMaxAgain = 64;
}  // namespace

UniqueFd openat2_retrying(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  const char* p = path.empty() ? "." : path.c_str();
  for (int again = 0;;) {
    long fd = ::syscall(SYS_openat2, dirfd, p, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR) continue;
    if (errno != EAGAIN || ++again > kMaxAgain) return UniqueFd();
  }
}

UniqueFd try_open_in_root(int root_fd, const std::string& rel, uint64_t flags, uint64_t extra_resolve) {
  return openat2_retrying(root_fd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve);
}

UniqueFd open_in_root(int root_fd, const std::string& rel, uint64_t flags, uint64_t extra_resolve) {
  UniqueFd fd = try_open_in_root(root_fd, rel, flags, extra_resolve);
  if (!fd) throw_sys("openat2", rel);
  return fd;
}

}  // namespace mctr::fs
