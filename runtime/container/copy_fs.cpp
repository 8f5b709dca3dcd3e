#include "container/copy_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "util/error.h"

namespace mctr::container::copyfs {

UniqueFd open_regular(int dirfd, const std::string& name, int proc_fd, struct stat& st) {
  // O_PATH calls no driver's open (a FIFO does not block, a device is not
  // touched), and the fd pins the inode: what we fstat is what we reopen.
  UniqueFd path(::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!path) throw_sys("openat", name);
  check_sys(::fstat(path.get(), &st), "fstat", name);
  if (!S_ISREG(st.st_mode)) return {};
  // Reopen through the host's procfs (the container's /proc, if it has one,
  // does not list us). The magic link opens the pinned inode, not the name.
  std::string link = "self/fd/" + std::to_string(path.get());
  UniqueFd fd(::openat(proc_fd, link.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  if (!fd) throw_sys("open", name + " (via /proc/" + link + ")");
  return fd;
}

Meta Meta::of(const struct stat& st) {
  return Meta{st.st_mode & 07777, st.st_uid, st.st_gid, {st.st_atim, st.st_mtim}};
}

namespace {

// ".minictr-cp-<16 hex>": unguessable, so a container cannot pre-create it
// (and O_EXCL / symlinkat refuse it if it does).
std::string temp_name() {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) throw_sys("getrandom");
  char buf[32];
  std::snprintf(buf, sizeof buf, ".minictr-cp-%016llx", static_cast<unsigned long long>(r));
  return buf;
}

void rename_over(int dirfd, const std::string& tmp, const std::string& name) {
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) == 0) return;
  int err = errno;
  ::unlinkat(dirfd, tmp.c_str(), 0);
  if (err == EISDIR) throw Error("cannot overwrite directory \"" + name + "\" with non-directory");
  errno = err;
  throw_sys("renameat", name);
}

}  // namespace

NewFile::NewFile(int dirfd, std::string name) : dirfd_(dirfd), name_(std::move(name)) {
  for (int tries = 0; !fd_; ++tries) {
    tmp_ = temp_name();
    fd_.reset(::openat(dirfd_, tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd_ && (errno != EEXIST || tries > 16)) throw_sys("openat", name_ + " (temporary " + tmp_ + ")");
  }
}

NewFile::~NewFile() {
  if (fd_) ::unlinkat(dirfd_, tmp_.c_str(), 0);
}

void NewFile::write(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size) {
    ssize_t n = ::write(fd_.get(), p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write", name_);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void NewFile::commit(const Meta& meta) {
  set_meta(fd_.get(), meta, name_);
  fd_.reset();
  rename_over(dirfd_, tmp_, name_);
}

void replace_with_symlink(int dirfd, const std::string& name, const std::string& target, const Meta& meta) {
  std::string tmp;
  for (int tries = 0;; ++tries) {
    tmp = temp_name();
    if (::symlinkat(target.c_str(), dirfd, tmp.c_str()) == 0) break;
    if (errno != EEXIST || tries > 16) throw_sys("symlinkat", name);
  }
  bool chown_ok = ::fchownat(dirfd, tmp.c_str(), meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) == 0 ||
                  errno == EPERM || errno == EINVAL;
  if (!chown_ok || ::utimensat(dirfd, tmp.c_str(), meta.times.data(), AT_SYMLINK_NOFOLLOW) < 0) {
    int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    errno = err;
    throw_sys("fchownat/utimensat", name);
  }
  rename_over(dirfd, tmp, name);
}

void replace_with_hardlink(int target_fd, int dirfd, const std::string& name) {
  std::string tmp;
  for (int tries = 0;; ++tries) {
    tmp = temp_name();
    // AT_EMPTY_PATH links the inode the fd pins (needs CAP_DAC_READ_SEARCH,
    // which we have): no name is looked up again between check and link.
    if (::linkat(target_fd, "", dirfd, tmp.c_str(), AT_EMPTY_PATH) == 0) break;
    if (errno != EEXIST || tries > 16) throw_sys("linkat", name);
  }
  rename_over(dirfd, tmp, name);
}

UniqueFd make_dir(int dirfd, const std::string& name, bool replace) {
  if (::mkdirat(dirfd, name.c_str(), 0700) < 0) {
    if (errno != EEXIST) throw_sys("mkdirat", name);
    struct stat st;
    check_sys(::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "fstatat", name);
    if (!S_ISDIR(st.st_mode)) {
      if (!replace) throw Error("cannot overwrite non-directory \"" + name + "\" with a directory");
      check_sys(::unlinkat(dirfd, name.c_str(), 0), "unlinkat", name);
      check_sys(::mkdirat(dirfd, name.c_str(), 0700), "mkdirat", name);
    }
  }
  // Swapped for a symlink or a node since: ELOOP / ENOTDIR, nothing opened.
  return UniqueFd(check_sys(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                            "openat", name));
}

void set_meta(int fd, const Meta& meta, const std::string& what) {
  // The owner is kept where the filesystem allows it (as before: an NFS
  // volume with root_squash, say, refuses; the copy is still wanted).
  if (::fchown(fd, meta.uid, meta.gid) < 0 && errno != EPERM && errno != EINVAL) throw_sys("fchown", what);
  check_sys(::fchmod(fd, meta.mode & 07777), "fchmod", what);
  check_sys(::futimens(fd, meta.times.data()), "futimens", what);
}

void copy_data(int from, NewFile& to, const std::string& what) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("read", what);
    if (n == 0) return;
    to.write(buf, static_cast<size_t>(n));
  }
}

std::vector<std::string> list_children(int dirfd, const std::string& what) {
  DIR* dir = ::fdopendir(check_sys(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0), "dup", what));
  if (!dir) throw_sys("fdopendir", what);
  std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
  ::rewinddir(dir);  // the dup shares the offset with dirfd
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(dir))
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  if (errno) throw_sys("readdir", what);
  std::sort(names.begin(), names.end());  // the same tree gives the same tar
  return names;
}

void refuse_special(const std::string& path, mode_t mode) {
  throw Error(path + " is a " + kind_of(mode) + ": only regular files, directories and symlinks are copied");
}

void warn_skipped(const std::string& path, mode_t mode) {
  std::fprintf(stderr, "minictr cp: skipping %s: a %s\n", path.c_str(), kind_of(mode));
}

const char* kind_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "regular file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    case S_IFCHR:
      return "character device";
    case S_IFBLK:
      return "block device";
    case S_IFIFO:
      return "FIFO";
    case S_IFSOCK:
      return "socket";
    default:
      return "special file";
  }
}

}  // namespace mctr::container::copyfs
