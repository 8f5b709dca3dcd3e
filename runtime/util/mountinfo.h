// /proc/PID/mountinfo: the mounts a process sees, one line each (proc(5)).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mctr::fs {

// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
//  id parent dev root mount-point options [optional fields...] - fstype source super-options
struct MountInfo {
  int id = 0;
  int parent = 0;
  std::string root;                   // the part of the filesystem mounted here ("/" for all of it)
  std::filesystem::path mount_point;  // where, as this process sees it
  std::string options;                // per-mount: rw, nosuid, relatime...
  std::string fstype;                 // "ext4", "cgroup2", "rootfs" (the initramfs)...
  std::string source;
  std::string super_options;  // per-filesystem: for a v1 cgroup, its controllers
};

// Lines that do not parse are skipped. The kernel writes a space, tab,
// newline or backslash in a path as \040, \011, \012, \134; they come back
// as the characters.
std::vector<MountInfo> parse_mountinfo(const std::string& text);
std::vector<MountInfo> read_mountinfo(const std::filesystem::path& p = "/proc/self/mountinfo");

}  // namespace mctr::fs
