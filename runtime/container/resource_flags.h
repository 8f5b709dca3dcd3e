// The resource flags of `run`, `create` and `update` (-m, --memory-swap,
// --cpus, ...): one parser and one set of checks for all three, so `update`
// refuses what `run` refuses instead of handing it to the kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "linux/cgroup/manager.h"
#include "util/size.h"

namespace mctr::container {

// The flags as given (unset when absent).
struct ResourceFlags {
  std::optional<std::string> memory, memory_swap;
  std::optional<double> cpus;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> pids_limit;
  std::optional<std::string> cpuset_cpus, cpuset_mems;
};

// Sizes: util/size.h.
using mctr::parse_bytes;
using mctr::parse_size;

// Each flag checked on its own: sizes parse, --cpus is 0 (no limit, as Docker)
// or within 0.01..online_cpus. Throws mctr::Error with Docker's messages.
cgroup::Resources parse_resource_flags(const ResourceFlags& f, long online_cpus);

// `change`'s set fields over `base` (update: the container's saved limits).
cgroup::Resources merge_resources(cgroup::Resources base, const cgroup::Resources& change);

// The limits taken together: memory at least 6 MB (runc's floor), a swap
// limit needs a memory limit and is at least as large.
void check_resources(const cgroup::Resources& r);

}  // namespace mctr::container
