// The container's own cgroup at /sys/fs/cgroup, as Docker shows it, so a
// program inside can read its limits (memory.max, memory.limit_in_bytes,
// cpu.max...). A cgroup filesystem mounted inside a cgroup namespace has the
// namespace's root as its root: after unshare(CLONE_NEWCGROUP) in the
// container's group, the mount shows that group and what is below it, never
// its siblings or the host's tree.
//   v2:  cgroup2 on /sys/fs/cgroup
//   v1:  tmpfs on /sys/fs/cgroup, one `cgroup` mount per hierarchy
//        (memory/, cpu,cpuacct/ with the links cpu and cpuacct...)
// Read-only, as Docker does (and read-write with --privileged, as Docker does).
#pragma once

#include <string>
#include <vector>

namespace mctr::rootfs {

// The hierarchies in which the container has a group of its own: the lines
// of /proc/self/cgroup ("4:memory:/minictr/ID", "0::/minictr/ID") whose path
// ends in /ID. Others (name=systemd, the empty v2 tree of a hybrid host)
// still show the supervisor's group, and mounting them would show the host's
// tree from there: they are left out.
struct OwnCgroups {
  std::vector<std::string> v1;  // each hierarchy's controllers: "memory", "cpu,cpuacct", "name=systemd"
  bool v2 = false;
};

// From the text of /proc/self/cgroup (pure, for tests).
OwnCgroups own_cgroups(const std::string& proc_self_cgroup, const std::string& id);

// From /proc/self/cgroup now: call it after joining the container's cgroup
// and before unshare(CLONE_NEWCGROUP), after which every path reads "/".
OwnCgroups read_own_cgroups(const std::string& id);

// Where a v1 hierarchy goes under /sys/fs/cgroup, and the links that name
// each of its controllers when there are several (cpu -> cpu,cpuacct).
struct V1MountPoint {
  std::string dir;                 // "cpu,cpuacct", "memory", "systemd"
  std::vector<std::string> links;  // "cpu", "cpuacct"
};
V1MountPoint v1_mount_point(const std::string& controllers);

// Mount them at /sys/fs/cgroup of the root we are in: after pivot_root and
// after unshare(CLONE_NEWCGROUP). Nothing when `own` is empty.
void mount_own_cgroups(const OwnCgroups& own, bool read_only);

}  // namespace mctr::rootfs
