#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/openat2.h"

namespace mctr::fs {

std::string read_file(const std::filesystem::path& p) {
  auto s = read_file_if_exists(p);
  if (!s) throw SysError("open", p, ENOENT);
  return *s;
}

// Everything up to EOF; more than max_bytes is an error.
static std::string read_all(int fd, const std::filesystem::path& p, size_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("read", p);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes)
      throw Error(p.string() + ": larger than " + std::to_string(max_bytes >> 10) + " KiB, not read");
  }
  return out;
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_sys("open", p);
  }
  return read_all(fd.get(), p, SIZE_MAX);
}

namespace {

const char* file_type_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symlink";
  return "of an unknown type";
}

// openat2 without magic links, inside root_fd when it is not AT_FDCWD.
UniqueFd open_contained(const std::filesystem::path& p, int root_fd, uint64_t flags) {
  if (root_fd == AT_FDCWD) return openat2_retrying(AT_FDCWD, p, flags, RESOLVE_NO_MAGICLINKS);
  return try_open_in_root(root_fd, p, flags);
}

}  // namespace

std::optional<std::string> read_untrusted_file(const std::filesystem::path& p, int root_fd,
                                               size_t max_bytes) {
  // First look at what is there, without opening it for reading.
  UniqueFd where = open_contained(p, root_fd, O_PATH);
  if (!where) {
    if (errno == ENOENT) return std::nullopt;
    throw_sys("openat2", p);
  }
  struct stat st;
  check_sys(::fstat(where.get(), &st), "fstat", p);
  if (!S_ISREG(st.st_mode))
    throw Error(p.string() + ": not a regular file (" + file_type_name(st.st_mode) + ")");
  // Then open it for reading; the container may have swapped it meanwhile,
  // so check that it is still the same file (O_NONBLOCK: a FIFO put there in
  // between cannot block this open).
  UniqueFd fd = open_contained(p, root_fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) throw_sys("openat2", p);
  struct stat again;
  check_sys(::fstat(fd.get(), &again), "fstat", p);
  if (again.st_dev != st.st_dev || again.st_ino != st.st_ino)
    throw Error(p.string() + ": replaced while it was being opened");
  return read_all(fd.get(), p, max_bytes);
}

static void write_all(int fd, const std::string& data, const std::filesystem::path& p) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write", p);
    }
    off += static_cast<size_t>(n);
  }
}

void write_file(const std::filesystem::path& p, const std::string& data) {
  UniqueFd fd(check_sys(::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC), "open", p));
  write_all(fd.get(), data, p);
}

namespace {
std::atomic<bool> g_defer_frees{false};
std::mutex g_held_mutex;
std::vector<int> g_held_fds;  // files kept open so their blocks are freed later
std::atomic<unsigned> g_tmp_counter{0};
}  // namespace

void set_defer_frees(bool on) { g_defer_frees = on; }

void keep_open_until_released(const std::filesystem::path& p) {
  if (!g_defer_frees) return;
  // O_PATH | O_NOFOLLOW: the inode itself, a symlink's too (a target longer
  // than 59 bytes, such as a container id, takes a block of its own).
  int fd = ::open(p.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;  // not there: nothing to defer
  std::lock_guard<std::mutex> lock(g_held_mutex);
  g_held_fds.push_back(fd);
}

void unlink_deferred(const std::filesystem::path& p) {
  keep_open_until_released(p);
  if (::unlink(p.c_str()) < 0 && errno != ENOENT) throw_sys("unlink", p);
}

void release_deferred_frees() {
  std::vector<int> fds;
  {
    std::lock_guard<std::mutex> lock(g_held_mutex);
    fds.swap(g_held_fds);
  }
  for (int fd : fds) ::close(fd);
}

void write_file_atomic(const std::filesystem::path& p, const std::string& data, mode_t mode, bool durable) {
  // A name no other writer uses: our pid, thread and a counter.
  std::filesystem::path tmp = p;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(::gettid()) + "." +
         std::to_string(g_tmp_counter++);
  UniqueFd fd(check_sys(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode), "open", tmp));
  try {
    write_all(fd.get(), data, tmp);
    if (durable) check_sys(::fsync(fd.get()), "fsync", tmp);
    fd.reset();
    keep_open_until_released(p);
    check_sys(::rename(tmp.c_str(), p.c_str()), "rename", p);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void mkdir_p(const std::filesystem::path& p, mode_t mode) {
  // Usually only the last component is missing (or none is): one mkdir.
  if (::mkdir(p.c_str(), mode) == 0 || errno == EEXIST) return;
  auto parent = p.parent_path();
  if (errno != ENOENT || parent.empty() || parent == p) throw_sys("mkdir", p);
  mkdir_p(parent, mode);
  if (::mkdir(p.c_str(), mode) < 0 && errno != EEXIST) throw_sys("mkdir", p);
}

bool mark_top_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int flags = 0;
  if (fd.get() < 0 || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) < 0) return false;
  if (flags & FS_TOPDIR_FL) return true;
  flags |= FS_TOPDIR_FL;
  return ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) == 0;
}

// Recursive removal relative to a directory fd: unlinkat never follows
// symlinks, and we skip directories on another device (a mount point).
static void remove_children(int dirfd, dev_t dev, const std::filesystem::path& where) {
  int dup = check_sys(::dup(dirfd), "dup", where);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    throw_sys("fdopendir", where);
  }
  while (dirent* e = ::readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) {
        ::closedir(d);
        throw SysError("remove", where / e->d_name, EBUSY);  // still a mount point
      }
      UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) remove_children(sub.get(), dev, where / e->d_name);
      if (::unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
        int err = errno;
        ::closedir(d);
        throw SysError("rmdir", where / e->d_name, err);
      }
    } else if (::unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT) {
      int err = errno;
      ::closedir(d);
      throw SysError("unlink", where / e->d_name, err);
    }
  }
  ::closedir(d);
}

void remove_tree(const std::filesystem::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) < 0) {
    if (errno == ENOENT) return;
    throw_sys("lstat", p);
  }
  if (!S_ISDIR(st.st_mode)) {
    check_sys(::unlink(p.c_str()), "unlink", p);
    return;
  }
  {
    UniqueFd fd(check_sys(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", p));
    remove_children(fd.get(), st.st_dev, p);
  }
  if (::rmdir(p.c_str()) < 0 && errno != ENOENT) throw_sys("rmdir", p);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace mctr::fs
