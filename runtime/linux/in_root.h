// Creating and mounting inside a container's root filesystem, whose content
// comes from an image or from the container itself. A path such as /dev,
// /etc/hosts or a volume target is resolved by the kernel as if the rootfs
// were "/" (openat2 RESOLVE_IN_ROOT): a symlink "/dev -> /home/user" in the
// image then leads to <rootfs>/home/user, never to the host's /home/user.
// What is found is held as an fd, and created, written and mounted on through
// that fd (mkdirat, mknodat, mount onto /proc/self/fd/N), so the path is never
// walked again by a call that would follow it on the host.
#pragma once

#include <filesystem>
#include <string>

#include "util/fd.h"

namespace mctr::rootfs {

// An O_PATH fd of `path` inside `root`. Symlinks and ".." cannot escape, magic
// links (/proc/self/root) are refused. With `create`, missing components are
// made on the way (inside their resolved parent, never through a symlink: a
// dangling symlink's target is made inside the root instead); the last one as
// a directory (is_dir) or an empty file.
int open_in_root(const std::filesystem::path& root, const std::string& path, bool create, bool is_dir);

// open_in_root(..., create) then mount(2) onto the fd; returns the mounted
// directory opened again after the mount (the same path now leads into it).
UniqueFd mount_in_root(const char* src, const std::filesystem::path& root, const std::string& path,
                       const char* type, unsigned long flags, const std::string& data, bool is_dir);

// Mount onto `name` (one component, no symlink followed) under `dir`, a
// directory of a filesystem we mounted ourselves. `shown` is its path for
// errors and --explain.
void mount_under(int dir, const char* name, const std::string& shown, const char* src, const char* type,
                 unsigned long flags, const std::string& data = "");

// Throw unless `fd` is on a filesystem of type `magic` (TMPFS_MAGIC...): the
// check before writing through an fd of a filesystem we just mounted.
void expect_fs(int fd, long magic, const std::string& shown);

// The `mount` command line that does the same as mount(2) with these
// arguments (for --explain).
std::string mount_replay(const char* src, const std::string& target, const char* type, unsigned long flags,
                         const std::string& data);

}  // namespace mctr::rootfs
