#include "container/copy.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "container/copy_fs.h"
#include "container/copy_tar.h"
#include "linux/proc.h"
#include "linux/rootfs.h"
#include "linux/setns.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/openat2.h"
#include "util/paths.h"

namespace mctr::container {

namespace {

namespace stdfs = std::filesystem;
using namespace copyfs;
using fs::open_in_root;  // util/openat2.h: paths in the container's root
using fs::try_open_in_root;

// Copy one entry (file, dir tree, symlink) from src_dir/src_name to
// dst_dir/dst_name with the rules of copy_fs.h. Device nodes, FIFOs and
// sockets are refused when named, skipped with a warning inside a tree.
void copy_entry(int src_dir, const std::string& src_name, int dst_dir, const std::string& dst_name,
                const std::string& path, int proc_fd, bool top) {
  struct stat st;
  check_sys(::fstatat(src_dir, src_name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "fstatat", path);
  if (S_ISDIR(st.st_mode)) {
    UniqueFd s(check_sys(::openat(src_dir, src_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                         "openat", path));
    check_sys(::fstat(s.get(), &st), "fstat", path);
    // Inside a tree a non-directory in the way is replaced, as Docker does;
    // the named destination itself is not.
    UniqueFd d = make_dir(dst_dir, dst_name, !top);
    for (const auto& n : list_children(s.get(), path))
      copy_entry(s.get(), n, d.get(), n, path + "/" + n, proc_fd, false);
    set_meta(d.get(), Meta::of(st), path);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n =
        check_sys(::readlinkat(src_dir, src_name.c_str(), target, sizeof target - 1), "readlinkat", path);
    target[n] = 0;
    replace_with_symlink(dst_dir, dst_name, target, Meta::of(st));
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd s = open_regular(src_dir, src_name, proc_fd, st);
    if (!s) {  // swapped for something else since the fstatat
      if (top) refuse_special(path, st.st_mode);
      return warn_skipped(path, st.st_mode);
    }
    NewFile d(dst_dir, dst_name);
    copy_data(s.get(), d, path);
    d.commit(Meta::of(st));
  } else if (top) {
    refuse_special(path, st.st_mode);
  } else {
    warn_skipped(path, st.st_mode);
  }
}

std::string base_name(const std::string& p) {
  auto s = stdfs::path(p).lexically_normal();
  if (s.filename().empty()) s = s.parent_path();
  return s.filename().string();
}

// "/a/b/" -> ("/a", "b"); the root itself cannot be copied by name.
std::pair<std::string, std::string> split_parent(const std::string& path) {
  auto p = stdfs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == ".." || p == "/")
    throw Error("cannot copy the root directory as a whole; name a path inside it");
  auto parent = p.parent_path();
  return {parent.empty() ? "." : parent.string(), name};
}

// ---- host side: the user's own paths, opened before we switch ---------------

// Where a copy lands on the host: into dst if it is a directory, else as dst.
std::pair<UniqueFd, std::string> host_destination(const std::string& dst, const std::string& src_base) {
  if (UniqueFd d(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); d) return {std::move(d), src_base};
  auto [parent, name] = split_parent(dst);
  return {UniqueFd(check_sys(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", parent)),
          name};
}

std::pair<UniqueFd, std::string> host_source(const std::string& src) {
  auto [parent, name] = split_parent(src);
  return {UniqueFd(check_sys(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", parent)),
          name};
}

// ---- container side: resolved in the container's root ----------------------
// in_container_fs already made the container's root our "/"; openat2
// RESOLVE_IN_ROOT adds that no magic link (/proc/PID/fd/N) is followed.

UniqueFd container_root() {
  return UniqueFd(check_sys(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), "open", "/"));
}

std::pair<UniqueFd, std::string> container_destination(const std::string& dst, const std::string& src_base) {
  UniqueFd root = container_root();
  // O_DIRECTORY fails with ENOTDIR before any driver's open: a device or
  // FIFO at dst is never opened here.
  if (UniqueFd d = try_open_in_root(root.get(), dst, O_RDONLY | O_DIRECTORY); d)
    return {std::move(d), src_base};
  if (errno != ENOENT && errno != ENOTDIR) throw_sys("openat2", dst);
  auto [parent, name] = split_parent(dst);
  return {open_in_root(root.get(), parent, O_RDONLY | O_DIRECTORY), name};
}

std::pair<UniqueFd, std::string> container_source(const std::string& src) {
  auto [parent, name] = split_parent(src);
  return {open_in_root(container_root().get(), parent, O_RDONLY | O_DIRECTORY), name};
}

UniqueFd host_proc() {
  return UniqueFd(check_sys(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC), "open", "/proc"));
}

// Run `fn` in a child process that sees the container's filesystem as "/":
// a running container's mount namespace, or the overlay mounted privately.
template <typename Fn>
void in_container_fs(const Store& store, const std::string& id, Fn fn) {
  State s = observed_state(store, id);
  bool running = s.status == Status::kRunning && linux_proc::alive(s.pid, s.pid_start);
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
        rootfs::Spec spec;
        spec.layer_dirs = cfg.layer_dirs;
        spec.container_dir = store.dir(id);
        spec.mount_point = StorePaths{store.root()}.rootfs_mount_point();
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
  UniqueFd proc = host_proc();
  auto [dst_dir, dst_name] = host_destination(dst, base_name(src));
  // (Structured bindings are named in init-captures: C++17 lambdas cannot capture them.)
  in_container_fs(store, id, [&, &dst_dir = dst_dir, &dst_name = dst_name] {
    auto [src_dir, src_name] = container_source(src);
    copy_entry(src_dir.get(), src_name, dst_dir.get(), dst_name, src, proc.get(), true);
  });
}

void copy_to_container(const Store& store, const std::string& id, const std::string& src,
                       const std::string& dst) {
  UniqueFd proc = host_proc();
  auto [src_dir, src_name] = host_source(src);
  in_container_fs(store, id, [&, &src_dir = src_dir, &src_name = src_name] {
    auto [dst_dir, dst_name] = container_destination(dst, src_name);
    copy_entry(src_dir.get(), src_name, dst_dir.get(), dst_name, src, proc.get(), true);
  });
}

void copy_tar_from_container(const Store& store, const std::string& id, const std::string& src, int out_fd) {
  UniqueFd proc = host_proc();
  in_container_fs(store, id, [&] {
    auto [src_dir, src_name] = container_source(src);
    write_tar(src_dir.get(), src_name, src, out_fd, proc.get());
  });
}

void copy_tar_to_container(const Store& store, const std::string& id, int in_fd, const std::string& dst) {
  in_container_fs(store, id, [&] {
    UniqueFd root = container_root();
    UniqueFd dir = try_open_in_root(root.get(), dst, O_RDONLY | O_DIRECTORY);
    if (!dir && errno == ENOTDIR) throw Error("destination " + dst + " must be a directory");
    if (!dir) throw_sys("openat2", dst);
    extract_tar(in_fd, dir.get());
  });
}

}  // namespace mctr::container
