// What the page's container panel shows: the limits and usage of the cgroup the server
// runs in, read from /sys/fs/cgroup. Inside a minictr (or Docker) container that is the
// container's own cgroup, mounted read-only in a cgroup namespace, so /proc/self/cgroup
// reads "/" for every hierarchy; anywhere else the panel says "not in a container".
//
//   v2: memory.max, memory.current, cpu.max ("max 100000" or "50000 100000"), cpu.stat
//       (usage_usec), pids.max, pids.current
//   v1: memory/memory.limit_in_bytes, memory/memory.usage_in_bytes, cpu/cpu.cfs_quota_us,
//       cpu/cpu.cfs_period_us, cpuacct/cpuacct.usage (ns), pids/pids.max, pids/pids.current
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mctr::infer {

// {"in_container": bool, "cgroup": "v1"|"v2"|null, "message": "...",
//  "memory": {"limit_bytes": n|null, "usage_bytes": n},
//  "cpu": {"quota_us": n|null, "period_us": n, "limit_cpus": x|null, "usage_usec": n},
//  "pids": {"limit": n|null, "current": n}}
// null limit: unlimited; a missing key: the file is not there or unreadable.
// `proc_self_cgroup` is the text of /proc/self/cgroup (pure, for tests).
nlohmann::json container_info(const std::string& cgroup_root, const std::string& proc_self_cgroup);

// The same for this process: /sys/fs/cgroup and /proc/self/cgroup.
nlohmann::json container_info_now(const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace mctr::infer
