// -m, --memory-swap, --cpus, -c, --cpuset-cpus, --cpuset-mems, --pids-limit:
// the resource flags of `run`, `create` and `update`, registered in one place
// and parsed by one parser (container/resource_flags.h).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "linux/cgroup/manager.h"

namespace mctr::cli {

class ResourceOptions {
 public:
  void add_to(CLI::App* sub);
  // The flags given, each parsed and checked on its own (Docker's messages);
  // the limits taken together are checked where they are applied.
  cgroup::Resources parse() const;

 private:
  CLI::App* sub_ = nullptr;
  std::string memory_, memory_swap_, cpuset_cpus_, cpuset_mems_;
  double cpus_ = 0;
  uint64_t cpu_shares_ = 0;
  int64_t pids_limit_ = 0;
};

}  // namespace mctr::cli
