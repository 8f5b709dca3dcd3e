#include "cli/resource_options.h"

#include <unistd.h>

#include "container/resource_flags.h"

namespace mctr::cli {

void ResourceOptions::add_to(CLI::App* sub) {
  sub_ = sub;
  sub->add_option("-m,--memory", memory_, "Memory limit (e.g. 256m)");
  sub->add_option("--memory-swap", memory_swap_, "Memory + swap limit, -1 for unlimited swap");
  sub->add_option("--cpus", cpus_, "Number of CPUs (e.g. 0.5)");
  sub->add_option("-c,--cpu-shares", cpu_shares_, "CPU shares (relative weight)");
  sub->add_option("--cpuset-cpus", cpuset_cpus_, "CPUs in which to allow execution (0-3, 0,1)");
  sub->add_option("--cpuset-mems", cpuset_mems_, "Memory nodes in which to allow execution");
  sub->add_option("--pids-limit", pids_limit_, "Tune container pids limit (-1 for unlimited)");
}

cgroup::Resources ResourceOptions::parse() const {
  container::ResourceFlags f;
  // An empty size (-m "") means no limit, as in Docker.
  if (!memory_.empty()) f.memory = memory_;
  if (!memory_swap_.empty()) f.memory_swap = memory_swap_;
  if (sub_->count("--cpus")) f.cpus = cpus_;
  if (sub_->count("--cpu-shares")) f.cpu_shares = cpu_shares_;
  f.cpuset_cpus = cpuset_cpus_;  // empty: not set
  f.cpuset_mems = cpuset_mems_;
  if (sub_->count("--pids-limit")) f.pids_limit = pids_limit_;
  return container::parse_resource_flags(f, ::sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace mctr::cli
