#include "linux/cgroup/host_stats.h"

#include <unistd.h>

#include "linux/cgroup/parse.h"
#include "util/fs.h"

namespace mctr::cgroup {

uint64_t host_cpu_usage_ns(const std::filesystem::path& proc_stat) {
  return parse_proc_stat_cpu_ns(fs::read_file(proc_stat), ::sysconf(_SC_CLK_TCK));
}

unsigned online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

uint64_t host_memory_total(const std::filesystem::path& meminfo) {
  return parse_meminfo_total(fs::read_file(meminfo));
}

double cpu_percent(uint64_t cpu_ns_before, uint64_t cpu_ns_after, uint64_t system_ns_before,
                   uint64_t system_ns_after, unsigned cpus) {
  if (system_ns_after <= system_ns_before || cpu_ns_after < cpu_ns_before) return 0.0;
  double cpu_delta = static_cast<double>(cpu_ns_after - cpu_ns_before);
  double system_delta = static_cast<double>(system_ns_after - system_ns_before);
  return cpu_delta / system_delta * cpus * 100.0;
}

}  // namespace mctr::cgroup
