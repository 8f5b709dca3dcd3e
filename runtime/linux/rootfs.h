// The container's root filesystem, built inside its new mount namespace:
// overlayfs of the image layers -> /proc, /dev, /sys -> volumes and the
// /etc files -> pivot_root. Runs in the child, before the user's command.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mctr::rootfs {

struct BindMount {
  std::string source;       // host path
  std::string destination;  // path inside the container
  bool read_only = false;
};

struct Spec {
  std::vector<std::string> layer_dirs;  // lowest layer first
  std::filesystem::path container_dir;  // holds upper/, work/, l/
  std::vector<BindMount> binds;         // volumes and /etc/{hostname,hosts,resolv.conf}
  bool new_netns = true;                // sysfs shows the container's own net devices
  // --rm: the upper dir is thrown away at exit, so mount it "volatile" (see mount_overlay).
  bool volatile_upper = false;
  // Where the overlay is mounted: one empty directory shared by every
  // container (StorePaths::rootfs_mount_point). Each mounts it in its own
  // mount namespace, where no other container's mount is seen, so no
  // directory per container is made (and deleted) on the host's disk.
  std::filesystem::path mount_point;
  // The overlay made in advance (make_detached_overlay), which mount_overlay
  // attaches; -1: mount_overlay makes it.
  int overlay_fd = -1;
};

// Create upper/, work/, the mount point (if missing) and the short layer links l/0..l/N (overlayfs
// takes its options in one page, so long layer paths would not fit).
void prepare_dirs(const Spec& s);

// The overlay of `s`, made but not mounted anywhere yet (fsopen, fsconfig,
// fsmount): its superblock, overlayfs's checks of work/ included, is made
// on the supervisor's side while the init starts; the init attaches it
// (mount_overlay with overlay_fd). Its dirs must exist (prepare_dirs). None
// when the kernel refuses (before 6.8, or a path too long): the init mounts
// it as usual.
UniqueFd make_detached_overlay(const Spec& s);

// In the child, in order:
void make_mounts_private();  // mount --make-rprivate /
void mount_overlay(
    const Spec& s);  // mount -t overlay overlay -o lowerdir=..,upperdir=..,workdir=.. MOUNT_POINT
void mount_proc_dev_sys(const Spec& s);  // = mount_proc_dev, then mount_sys
void mount_proc_dev(const Spec& s);      // = mount_proc, mount_dev_tmpfs, then its nodes (fill_dev)
void mount_proc(const Spec& s);
// The /dev tmpfs ("mode=755,size=65536k" + `extra_options`); returns it opened.
UniqueFd mount_dev_tmpfs(const Spec& s, const std::string& extra_options = "");
// The nodes, links and submounts (pts, shm, mqueue, console) of the tmpfs already on /dev.
void fill_dev(const Spec& s);
void mount_sys(const Spec& s);  // in the container's network namespace: sysfs shows the mounter's
void mount_binds(const Spec& s);
void pivot_into(const std::filesystem::path& new_root);  // pivot_root + detach the old root
void remount_root_readonly();

// For a bundle whose /dev is one of its own mounts (runc's way): the
// runtime spec's default devices (null zero full random urandom tty, the
// fd, stdin, stdout, stderr, ptmx and core links) in <root>/dev, those the
// bundle's mounts left missing.
void create_default_devices(const std::filesystem::path& root);
// Bind a terminal (the pty slave, a path or /proc/self/fd/N) on <root>/dev/console.
void bind_console(const std::filesystem::path& root, const std::string& slave_path);

}  // namespace mctr::rootfs
