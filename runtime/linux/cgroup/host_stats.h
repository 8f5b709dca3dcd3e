// Host-wide numbers `stats` needs next to the cgroup's own counters:
// Docker's CPU% = Δcontainer_ns / Δsystem_ns × online_cpus × 100.
#pragma once

#include <cstdint>
#include <filesystem>

namespace mctr::cgroup {

// Total CPU time of the host in ns from /proc/stat (jiffies × 1e9 / CLK_TCK).
uint64_t host_cpu_usage_ns(const std::filesystem::path& proc_stat = "/proc/stat");
// Number of online CPUs (sysconf(_SC_NPROCESSORS_ONLN)).
unsigned online_cpus();
// Host RAM in bytes (/proc/meminfo MemTotal): the LIMIT shown when unlimited.
uint64_t host_memory_total(const std::filesystem::path& meminfo = "/proc/meminfo");
// Docker's CPU% from two samples; 0 when the system counter did not move.
double cpu_percent(uint64_t cpu_ns_before, uint64_t cpu_ns_after, uint64_t system_ns_before,
                   uint64_t system_ns_after, unsigned cpus);

}  // namespace mctr::cgroup
