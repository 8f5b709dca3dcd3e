#include "linux/idmapped_rootfs.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <thread>

#include "util/error.h"
#include "util/explain.h"

namespace mctr::rootfs {

namespace {

// `dir` mounted over itself with the container's id mapping: a file of host
// uid 0 in it shows as the mapped root's uid. Only in our private namespace.
void idmap_over(const std::string& dir, int userns_fd) {
  int fd =
      static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (fd < 0) throw_sys("open_tree", dir);
  UniqueFd tree(fd);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    throw Error("--userns: the image layer " + dir +
                " cannot be idmapped on this kernel and filesystem (mount_setattr MOUNT_ATTR_IDMAP: " +
                std::strerror(errno) + ")");
  if (::syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, dir.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    throw_sys("move_mount", dir);
}

// On a thread of its own: unshare(CLONE_FS) gives it its own root and cwd,
// which a new mount namespace needs; the rest of the process keeps the host's.
UniqueFd build_in_private_namespace(const Spec& s, int userns_fd, uint32_t uid, uint32_t gid) {
  check_sys(::unshare(CLONE_FS | CLONE_NEWNS), "unshare(CLONE_FS|CLONE_NEWNS)");
  make_mounts_private();  // nothing we mount here reaches the host
  if (s.layer_dirs.empty()) idmap_over((s.container_dir / "empty").string(), userns_fd);
  for (const auto& dir : s.layer_dirs) idmap_over(dir, userns_fd);
  mount_overlay(s);  // its lowerdir paths now lead to the idmapped mounts
  mount_dev_tmpfs(s, ",uid=" + std::to_string(uid) + ",gid=" + std::to_string(gid));
  int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, s.mount_point.c_str(),
                                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (fd < 0) throw_sys("open_tree", s.mount_point);
  return UniqueFd(fd);
}

}  // namespace

UniqueFd build_idmapped_tree(const Spec& s, int userns_fd, uint32_t root_uid, uint32_t root_gid) {
  explain::step(explain::Kind::kNotReplayable, "open_tree+mount_setattr(2)",
                "# each layer: an idmapped bind (MOUNT_ATTR_IDMAP, the container's user namespace); "
                "the overlay and /dev over them, handed to the init as one detached tree");
  UniqueFd tree;
  std::exception_ptr failed;
  std::thread builder([&] {
    try {
      tree = build_in_private_namespace(s, userns_fd, root_uid, root_gid);
    } catch (...) {
      failed = std::current_exception();
    }
  });  // its mount namespace, with the idmapped layers, ends with it
  builder.join();
  if (failed) std::rethrow_exception(failed);
  return tree;
}

void attach_tree(int tree_fd, const Spec& s) {
  explain::step(explain::Kind::kNotReplayable, "move_mount(2)",
                "# attach the tree the supervisor built at " + s.mount_point.string());
  if (::syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, s.mount_point.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    throw_sys("move_mount", s.mount_point);
}

}  // namespace mctr::rootfs
