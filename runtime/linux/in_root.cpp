#include "linux/in_root.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <vector>

#include "util/error.h"
#include "util/explain.h"
#include "util/openat2.h"

namespace mctr::rootfs {

namespace stdfs = std::filesystem;

std::string mount_replay(const char* src, const std::string& target, const char* type, unsigned long flags,
                         const std::string& data) {
  using explain::sh_quote;
  std::string cmd = "mount ";
  if (flags & MS_PRIVATE) {
    cmd += (flags & MS_REC) ? "--make-rprivate " : "--make-private ";
    cmd += target;
    return cmd;
  }
  std::string opts;
  auto add = [&](const std::string& o) {
    if (!opts.empty()) opts += ',';
    opts += o;
  };
  if (flags & MS_REMOUNT) add("remount");
  if ((flags & MS_BIND) && (flags & MS_REMOUNT)) add("bind");
  if (flags & MS_RDONLY) add("ro");
  if (flags & MS_NOSUID) add("nosuid");
  if (flags & MS_NODEV) add("nodev");
  if (flags & MS_NOEXEC) add("noexec");
  if (!data.empty()) add(data);
  if ((flags & MS_BIND) && !(flags & MS_REMOUNT)) {
    cmd += (flags & MS_REC) ? "--rbind " : "--bind ";
    cmd += sh_quote(src);
  } else if (flags & MS_REMOUNT) {
    cmd += "-o ";
    cmd += opts;
  } else {
    cmd += "-t ";
    cmd += type;
    if (!opts.empty()) {
      cmd += " -o ";
      cmd += sh_quote(opts);
    }
    cmd += ' ';
    cmd += src ? src : "none";
  }
  cmd += ' ';
  cmd += sh_quote(target);
  return cmd;
}

namespace {

// Everything below resolves paths with the kernel's RESOLVE_IN_ROOT, as if
// the rootfs were "/": the image's symlinks ("/dev -> /home/user") and ".."
// stay inside it. Magic links (/proc/self/root) are refused outright.
constexpr int kMaxSymlinks = 40;  // as the kernel's own limit

std::string join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  for (const auto& p : stdfs::path(path).relative_path())
    if (!p.empty()) parts.push_back(p.string());
  return parts;
}

// Make parts[n] in `parent`: a directory, or (the last part, !is_dir) an
// empty file. O_EXCL and mkdirat never follow a symlink there. Returns false
// when the name already exists (a dangling symlink, or made meanwhile).
bool create_one(int parent, const std::string& name, bool as_dir, const stdfs::path& shown) {
  if (as_dir) {
    if (::mkdirat(parent, name.c_str(), 0755) == 0) {
      explain::step("mkdirat(2)",
                    "mkdir " + explain::sh_quote(shown.string()) + "   # a mount point the image lacks");
      return true;
    }
  } else {
    int f = ::openat(parent, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f >= 0) {
      ::close(f);
      explain::step("openat(2)",
                    "touch " + explain::sh_quote(shown.string()) + "   # a mount point the image lacks");
      return true;
    }
  }
  if (errno != EEXIST) throw_sys(as_dir ? "mkdirat" : "openat", shown);
  return false;
}

}  // namespace

int open_in_root(const stdfs::path& root, const std::string& path, bool create, bool is_dir) {
  UniqueFd root_fd(check_sys(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", root));
  std::vector<std::string> parts = split(stdfs::path("/" + path).lexically_normal().string());
  int links = 0;
  for (int round = 0; round < 4 * kMaxSymlinks + 256; ++round) {
    std::string rel = join(parts, parts.size());
    if (UniqueFd fd = fs::try_open_in_root(root_fd.get(), rel, O_PATH)) return fd.release();
    if (errno != ENOENT || !create) throw_sys("openat2", root / rel);
    // The deepest part that exists; the one after it is missing. The kernel
    // resolves every prefix (symlinks and ".." included) inside the root.
    size_t n = parts.size() - 1;
    UniqueFd parent;
    for (;; --n) {
      parent = fs::try_open_in_root(root_fd.get(), join(parts, n), O_PATH | O_DIRECTORY);
      if (parent) break;
      if (errno != ENOENT || n == 0) throw_sys("openat2", root / join(parts, n));
    }
    bool last = n + 1 == parts.size();
    stdfs::path shown = root / join(parts, n + 1);
    if (create_one(parent.get(), parts[n], !last || is_dir, shown)) continue;
    // It exists but does not resolve: a dangling symlink. Make what it points
    // to, inside the root (runc's securejoin does the same), never through it.
    char target[PATH_MAX];
    ssize_t len = ::readlinkat(parent.get(), parts[n].c_str(), target, sizeof target - 1);
    if (len < 0) {
      if (errno == EINVAL) continue;  // not a symlink: made by someone meanwhile; look again
      throw_sys("readlinkat", shown);
    }
    if (++links > kMaxSymlinks) throw SysError("openat2", shown, ELOOP);
    target[len] = '\0';
    // A relative target stays after parts[0..n) as a string: the kernel
    // resolves its ".." from where the prefix really leads, not lexically.
    std::vector<std::string> spliced;
    if (target[0] != '/') spliced.assign(parts.begin(), parts.begin() + static_cast<long>(n));
    for (auto& t : split(std::string("/") + target)) spliced.push_back(t);
    spliced.insert(spliced.end(), parts.begin() + static_cast<long>(n) + 1, parts.end());
    parts = std::move(spliced);
  }
  throw SysError("openat2", root / stdfs::path(path).relative_path(), ELOOP);
}

// Mount onto a target resolved safely inside the rootfs: the kernel follows
// /proc/self/fd/N to exactly the inode we opened.
static void mount_on_fd(const char* src, int target, const std::string& shown, const char* type,
                        unsigned long flags, const std::string& data) {
  std::string proc_path = "/proc/self/fd/" + std::to_string(target);
  if (::mount(src, proc_path.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) < 0)
    throw_sys(std::string("mount ") + (type ? type : "(bind)"), shown);
}

// Opened anew after the mount: resolving the same path again crosses into
// the new mount (the fd opened before still names the covered directory).
UniqueFd mount_in_root(const char* src, const stdfs::path& root, const std::string& path, const char* type,
                       unsigned long flags, const std::string& data, bool is_dir) {
  std::string shown = (root / stdfs::path(path).relative_path()).string();
  {
    UniqueFd target(open_in_root(root, path, true, is_dir));
    explain::step("openat2+mount", mount_replay(src, shown, type, flags, data));
    mount_on_fd(src, target.get(), shown, type, flags, data);
  }
  return UniqueFd(open_in_root(root, path, false, is_dir));
}

void expect_fs(int fd, long magic, const std::string& shown) {
  struct statfs sfs;
  check_sys(::fstatfs(fd, &sfs), "fstatfs", shown);
  if (sfs.f_type != magic) throw Error(shown + ": not the filesystem just mounted there");
}

void mount_under(int dir, const char* name, const std::string& shown, const char* src, const char* type,
                 unsigned long flags, const std::string& data) {
  explain::step("mount(2)", mount_replay(src, shown, type, flags, data));
  UniqueFd target(check_sys(::openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), "openat", shown));
  mount_on_fd(src, target.get(), shown, type, flags, data);
}

}  // namespace mctr::rootfs
