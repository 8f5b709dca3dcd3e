#include "linux/security/self_exe.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"

extern char** environ;

namespace mctr::security {

namespace {

constexpr const char* kSelf = "/proc/self/exe";

// A bind mount of just our executable file, in no mount namespace's tree
// (OPEN_TREE_CLONE makes a detached copy), then made read-only. Nobody can
// reach this mount by a path; it lives as long as the fd, or the process
// that execs from it, holds it.
int open_read_only_bind_of_self() {
  int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, kSelf, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (fd < 0) return -1;
  UniqueFd tree(fd);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) return -1;
  return tree.release();
}

// The fallback runc used first: a memfd holding a copy of the binary,
// sealed so that no one can ever change it (F_SEAL_WRITE and friends).
int open_sealed_copy_of_self() {
  UniqueFd self(check_sys(::open(kSelf, O_RDONLY | O_CLOEXEC), "open", kSelf));
  struct stat st;
  check_sys(::fstat(self.get(), &st), "fstat", kSelf);
  UniqueFd copy(check_sys(::memfd_create("minictr", MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create"));
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = ::sendfile(copy.get(), self.get(), nullptr, static_cast<size_t>(st.st_size - done));
    if (n <= 0) throw_sys("sendfile", kSelf);
    done += n;
  }
  check_sys(::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
            "fcntl(F_ADD_SEALS)");
  return copy.release();
}

}  // namespace

bool self_exe_is_read_only() {
  struct statvfs v;
  // statvfs follows the magic link to the executable's own mount.
  if (::statvfs(kSelf, &v) == 0 && (v.f_flag & ST_RDONLY)) return true;
  // Or we run from the sealed copy.
  UniqueFd self(::open(kSelf, O_RDONLY | O_CLOEXEC));
  int seals = self ? ::fcntl(self.get(), F_GET_SEALS) : -1;  // EINVAL: not a memfd
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

void reexec_from_read_only_self(char** argv) {
  if (self_exe_is_read_only()) return;
  exec_read_only_self(argv);
}

UniqueFd open_read_only_self() {
  UniqueFd exe(open_read_only_bind_of_self());
  if (!exe) {
    if (errno != ENOSYS && errno != EINVAL) throw_sys("open_tree/mount_setattr", kSelf);
    exe.reset(open_sealed_copy_of_self());  // kernels before 5.12
  }
  return exe;
}

void exec_read_only_self(char** argv) {
  UniqueFd exe = open_read_only_self();
  ::syscall(SYS_execveat, exe.get(), "", argv, environ, AT_EMPTY_PATH);
  throw_sys("execveat", kSelf);
}

}  // namespace mctr::security
