// linux.cgroupsPath as runc reads it, turned into a group path below the
// hierarchy roots (cgroup::GroupPath):
//   "/a/b"   absolute: <mount>/a/b in each hierarchy
//   "a/b"    relative: below the cgroup the runtime itself runs in
//   ""       the container id, below the runtime's own cgroup
// With --systemd-cgroup, "slice:prefix:name" is systemd's notation; minictr
// asks no systemd for a unit, it makes the same directory systemd would
// (machine.slice/libpod-ID.scope) with cgroupfs, which keeps the limits but
// not systemd's bookkeeping of the scope.
#pragma once

#include <string>

namespace mctr::runc {

// The group path (no leading '/'). `self_cgroup` is the text of
// /proc/self/cgroup (pure, for tests). Throws Error on a path that leaves
// the hierarchy ("..") or a malformed systemd triple.
std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id, bool systemd,
                                 const std::string& self_cgroup);
// The same with this process's /proc/self/cgroup.
std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id, bool systemd);

// systemd's slice naming: "a-b.slice" lives at "a.slice/a-b.slice"; "-.slice" is the root.
std::string expand_slice(const std::string& slice);

}  // namespace mctr::runc
