// minictr update [-m ..] [--cpus ..] [--pids-limit ..] ... CONTAINER...
// Changes the cgroup limits of running containers (and the saved config).
#include <iostream>

#include "cli/verbs.h"
#include "container/lifecycle.h"
#include "linux/cgroup/manager.h"

namespace mctr::cli {

void add_update(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("update", "Update the resource limits of containers");
  struct F {
    std::string memory, memory_swap, cpuset_cpus, cpuset_mems;
    double cpus = 0;
    uint64_t cpu_shares = 0;
    int64_t pids_limit = 0;
    std::vector<std::string> refs;
  };
  auto f = std::make_shared<F>();
  sub->add_option("-m,--memory", f->memory, "Memory limit");
  sub->add_option("--memory-swap", f->memory_swap, "Memory + swap limit, -1 for unlimited swap");
  sub->add_option("--cpus", f->cpus, "Number of CPUs");
  sub->add_option("-c,--cpu-shares", f->cpu_shares, "CPU shares (relative weight)");
  sub->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs in which to allow execution");
  sub->add_option("--cpuset-mems", f->cpuset_mems, "Memory nodes in which to allow execution");
  sub->add_option("--pids-limit", f->pids_limit, "Pids limit (-1 for unlimited)");
  sub->add_option("containers", f->refs, "Containers")->required();
  sub->callback([&g, f, sub] {
    cgroup::Resources change;
    if (!f->memory.empty()) change.memory = container::parse_bytes(f->memory);
    if (!f->memory_swap.empty())
      change.memory_swap = f->memory_swap == "-1" ? -1 : container::parse_bytes(f->memory_swap);
    if (sub->count("--cpus")) change.cpus = f->cpus;
    if (sub->count("--cpu-shares")) change.cpu_shares = f->cpu_shares;
    if (!f->cpuset_cpus.empty()) change.cpuset_cpus = f->cpuset_cpus;
    if (!f->cpuset_mems.empty()) change.cpuset_mems = f->cpuset_mems;
    if (sub->count("--pids-limit")) change.pids_limit = f->pids_limit <= 0 ? -1 : f->pids_limit;
    container::Store store(g.root());
    int rc = 0;
    for (const auto& ref : f->refs) {
      try {
        std::string id = store.resolve(ref);
        auto lock = store.lock(id);
        auto cfg = store.config(id);
        auto& r = cfg.resources;
        if (change.memory) r.memory = change.memory;
        if (change.memory_swap) r.memory_swap = change.memory_swap;
        if (change.cpus) r.cpus = change.cpus;
        if (change.cpu_shares) r.cpu_shares = change.cpu_shares;
        if (change.cpuset_cpus) r.cpuset_cpus = change.cpuset_cpus;
        if (change.cpuset_mems) r.cpuset_mems = change.cpuset_mems;
        if (change.pids_limit) r.pids_limit = change.pids_limit;
        if (container::observed_state(store, id).status == "running") cgroup::make_manager(id)->apply(change);
        store.save_config(cfg);
        std::cout << ref << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
        rc = 1;
      }
    }
    g.exit_code = rc;
  });
}

}  // namespace mctr::cli
