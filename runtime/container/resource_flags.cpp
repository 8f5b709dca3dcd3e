#include "container/resource_flags.h"

#include <cmath>
#include <string_view>

#include "util/error.h"
#include "util/size.h"

namespace mctr::container {

static int64_t parse_flag_bytes(const char* flag, const std::string& s) {
  try {
    return parse_bytes(s);
  } catch (const Error& e) {
    throw Error(std::string("invalid argument for ") + flag + ": " + e.what());
  }
}

cgroup::Resources parse_resource_flags(const ResourceFlags& f, long online_cpus) {
  cgroup::Resources r;
  if (f.memory) r.memory = parse_flag_bytes("--memory", *f.memory);
  if (f.memory_swap)
    r.memory_swap = *f.memory_swap == "-1" ? -1 : parse_flag_bytes("--memory-swap", *f.memory_swap);
  if (f.cpus && *f.cpus != 0) {
    // Also refuses nan and inf (a NaN compares false both ways). Below 0.01
    // the CFS quota would be under the kernel's 1 ms minimum (EINVAL).
    if (!(*f.cpus >= 0.01 && *f.cpus <= static_cast<double>(online_cpus))) {
      std::string n = std::to_string(online_cpus);
      throw Error("Range of CPUs is from 0.01 to " + n + ".00, as there are only " + n + " CPUs available");
    }
    r.cpus = *f.cpus;
  }
  if (f.cpu_shares) r.cpu_shares = *f.cpu_shares;
  if (f.cpuset_cpus && !f.cpuset_cpus->empty()) r.cpuset_cpus = *f.cpuset_cpus;
  if (f.cpuset_mems && !f.cpuset_mems->empty()) r.cpuset_mems = *f.cpuset_mems;
  if (f.pids_limit) r.pids_limit = *f.pids_limit <= 0 ? -1 : *f.pids_limit;
  return r;
}

cgroup::Resources merge_resources(cgroup::Resources base, const cgroup::Resources& change) {
  if (change.memory) base.memory = change.memory;
  if (change.memory_swap) base.memory_swap = change.memory_swap;
  if (change.cpus) base.cpus = change.cpus;
  if (change.cpu_shares) base.cpu_shares = change.cpu_shares;
  if (change.cpuset_cpus) base.cpuset_cpus = change.cpuset_cpus;
  if (change.cpuset_mems) base.cpuset_mems = change.cpuset_mems;
  if (change.pids_limit) base.pids_limit = change.pids_limit;
  return base;
}

void check_resources(const cgroup::Resources& r) {
  if (r.memory && *r.memory < int64_t{6} * 1024 * 1024) throw Error("minimum memory limit allowed is 6MB");
  if (r.memory_swap) {
    if (!r.memory) throw Error("you should always set the memory limit when using the memory swap limit");
    if (*r.memory_swap != -1 && *r.memory_swap < *r.memory)
      throw Error("minimum memoryswap limit should be larger than memory limit");
  }
}

}  // namespace mctr::container
