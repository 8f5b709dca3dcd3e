// Which cgroup layout does the host have? Read from /proc/self/mountinfo:
//   unified (pure v2): a cgroup2 mount at /sys/fs/cgroup itself
//   hybrid:            v1 controller mounts under /sys/fs/cgroup/<ctrl> and a
//                      cgroup2 mount (usually without controllers) at .../unified
//   legacy (pure v1):  only v1 controller mounts
// We only read mounts; minictr never mounts, unmounts or remounts host cgroups.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace mctr::cgroup {

enum class Layout { kNone, kUnified, kHybrid, kLegacy };

const char* layout_name(Layout l);

struct HostLayout {
  Layout layout = Layout::kNone;
  std::filesystem::path unified;  // where cgroup2 is mounted (empty when not)
  // v1: controller name ("memory", "cpu", ...) -> its hierarchy's mount point.
  // Co-mounted controllers ("cpu,cpuacct") map to the same directory.
  std::map<std::string, std::filesystem::path> v1;
};

// Parse mountinfo text, keeping cgroup mounts at `root` or directly below it.
HostLayout parse_mountinfo(const std::string& mountinfo, const std::filesystem::path& root);

// Infer the layout from the files in a directory (for tests on a fake tree):
// root/cgroup.controllers -> unified; root/<ctrl>[,<ctrl>]/ dirs -> legacy.
HostLayout probe_directory(const std::filesystem::path& root);

// The layout at `root`: from /proc/self/mountinfo, else probe_directory(root).
HostLayout detect_layout(const std::filesystem::path& root = "/sys/fs/cgroup");

// Whether detect_layout(root) says kUnified, from one statfs(2) (is `root` on
// a cgroup2 filesystem?) instead of reading and parsing mountinfo (~0.2 ms).
bool is_unified(const std::filesystem::path& root = "/sys/fs/cgroup");

}  // namespace mctr::cgroup
