#include "container/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "linux/proc.h"
#include "linux/rootfs.h"
#include "linux/setns.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/paths.h"

namespace mctr::container {

namespace {

namespace stdfs = std::filesystem;

void copy_data(int from, int to, const std::string& what) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("read", what);
    if (n == 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
      if (w < 0) throw_sys("write", what);
      off += w;
    }
  }
}

// Copy one entry (file, dir tree, symlink) from src_dir/src_name to
// dst_dir/dst_name, relative to directory fds, never following symlinks.
void copy_entry(int src_dir, const std::string& src_name, int dst_dir, const std::string& dst_name) {
  struct stat st;
  check_sys(::fstatat(src_dir, src_name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "fstatat", src_name);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst_dir, dst_name.c_str(), st.st_mode & 07777) < 0 && errno != EEXIST)
      throw_sys("mkdirat", dst_name);
    UniqueFd s(check_sys(::openat(src_dir, src_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                         "openat", src_name));
    UniqueFd d(check_sys(::openat(dst_dir, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                         "openat", dst_name));
    DIR* dir = ::fdopendir(check_sys(::dup(s.get()), "dup"));
    if (!dir) throw_sys("fdopendir", src_name);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
    ::closedir(dir);
    for (const auto& n : names) copy_entry(s.get(), n, d.get(), n);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n =
        check_sys(::readlinkat(src_dir, src_name.c_str(), target, sizeof target - 1), "readlinkat", src_name);
    target[n] = 0;
    ::unlinkat(dst_dir, dst_name.c_str(), 0);
    check_sys(::symlinkat(target, dst_dir, dst_name.c_str()), "symlinkat", dst_name);
    return;
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd s(check_sys(::openat(src_dir, src_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "openat",
                         src_name));
    UniqueFd d(check_sys(::openat(dst_dir, dst_name.c_str(),
                                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777),
                         "openat", dst_name));
    copy_data(s.get(), d.get(), src_name);
  } else {
    return;  // devices, fifos, sockets: skipped, like docker cp of a running container's /dev
  }
  ::fchownat(dst_dir, dst_name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
  ::fchmodat(dst_dir, dst_name.c_str(), st.st_mode & 07777, 0);
  timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(dst_dir, dst_name.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

std::string base_name(const std::string& p) {
  auto s = stdfs::path(p).lexically_normal();
  if (s.filename().empty()) s = s.parent_path();
  return s.filename().string();
}

// Where a copy lands: into dst if it is a directory, else as dst itself.
// Returns (dir fd, name) for copy_entry.
std::pair<UniqueFd, std::string> destination(const std::string& dst, const std::string& src_base) {
  struct stat st;
  if (::stat(dst.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return {UniqueFd(check_sys(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", dst)),
            src_base};
  auto parent = stdfs::path(dst).lexically_normal().parent_path();
  if (parent.empty()) parent = ".";
  return {UniqueFd(check_sys(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", parent)),
          base_name(dst)};
}

std::pair<UniqueFd, std::string> source(const std::string& src) {
  auto p = stdfs::path(src).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  auto parent = p.parent_path();
  if (parent.empty()) parent = ".";
  std::string name = p.filename().string();
  if (name.empty() || p == "/")
    throw Error("cp: cannot copy the root directory as a whole; name a path inside it");
  return {UniqueFd(check_sys(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", parent)),
          name};
}

// Run `fn` in a child process that sees the container's filesystem as "/":
// a running container's mount namespace, or the overlay mounted privately.
template <typename Fn>
void in_container_fs(const Store& store, const std::string& id, Fn fn) {
  State s = observed_state(store, id);
  bool running = s.status == "running" && linux_proc::alive(s.pid, s.pid_start);
  std::optional<linux_ns::NamespaceFds> ns;
  if (running) ns = linux_ns::open_namespaces(s.pid);
  Config cfg = store.config(id);
  int err_pipe[2];
  check_sys(::pipe2(err_pipe, O_CLOEXEC), "pipe2");
  pid_t pid = check_sys(::fork(), "fork");
  if (pid == 0) {
    ::close(err_pipe[0]);
    try {
      if (running) {
        // Only the mount namespace: the file tree as the container sees it.
        for (const auto& [type, fd] : ns->fds)
          if (type == CLONE_NEWNS) check_sys(::setns(fd.get(), CLONE_NEWNS), "setns", "mnt");
      } else {
        rootfs::Spec spec{cfg.layer_dirs,
                          store.dir(id),
                          {},
                          "",
                          true,
                          false,
                          StorePaths{store.root()}.rootfs_mount_point()};
        if (!stdfs::exists(store.dir(id) / "upper")) rootfs::prepare_dirs(spec);
        fs::mkdir_p(spec.mount_point, 0755);  // a store no container has started in yet
        check_sys(::unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
        rootfs::make_mounts_private();
        rootfs::mount_overlay(spec);
        check_sys(::chroot(spec.mount_point.c_str()), "chroot", spec.mount_point);
        check_sys(::chdir("/"), "chdir", "/");
      }
      fn();
      ::_exit(0);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      ssize_t n = ::write(err_pipe[1], msg.data(), msg.size());
      (void)n;
      ::_exit(1);
    }
  }
  ::close(err_pipe[1]);
  char buf[1024];
  ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
  ::close(err_pipe[0]);
  int status;
  ::waitpid(pid, &status, 0);
  if (n > 0) throw Error("cp: " + std::string(buf, static_cast<size_t>(n)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("cp: copy failed");
}

}  // namespace

void copy_from_container(const Store& store, const std::string& id, const std::string& src,
                         const std::string& dst) {
  std::string src_base = base_name(src);
  auto [dst_dir, dst_name] = destination(dst, src_base);  // host side, opened before we switch
  std::string dname = dst_name;
  int dfd = dst_dir.get();
  in_container_fs(store, id, [&] {
    auto [src_dir, src_name] = source(src);
    copy_entry(src_dir.get(), src_name, dfd, dname);
  });
}

void copy_to_container(const Store& store, const std::string& id, const std::string& src,
                       const std::string& dst) {
  auto [src_dir, src_name] = source(src);  // host side, opened before we switch
  std::string sname = src_name;
  int sfd = src_dir.get();
  in_container_fs(store, id, [&] {
    auto [dst_dir, dst_name] = destination(dst, sname);
    copy_entry(sfd, sname, dst_dir.get(), dst_name);
  });
}

}  // namespace mctr::container
