// minictr update [-m ..] [--cpus ..] [--pids-limit ..] ... CONTAINER...
// Changes the cgroup limits of running containers (and the saved config).
#include <unistd.h>

#include <iostream>

#include "cli/verbs.h"
#include "container/lifecycle.h"
#include "container/resource_flags.h"
#include "container/restart.h"
#include "linux/cgroup/manager.h"

namespace mctr::cli {

void add_update(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("update", "Update the resource limits of containers");
  struct F {
    std::string memory, memory_swap, cpuset_cpus, cpuset_mems;
    double cpus = 0;
    uint64_t cpu_shares = 0;
    int64_t pids_limit = 0;
    std::string restart;
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
  sub->add_option("--restart", f->restart, "Restart policy to apply when a container exits");
  sub->add_option("containers", f->refs, "Containers")->required();
  sub->callback([&g, f, sub] {
    // The same parser and checks as `run`: a bad value is refused (125)
    // before any container is touched, never handed to the kernel.
    container::ResourceFlags rf;
    if (!f->memory.empty()) rf.memory = f->memory;
    if (!f->memory_swap.empty()) rf.memory_swap = f->memory_swap;
    if (sub->count("--cpus")) rf.cpus = f->cpus;
    if (sub->count("--cpu-shares")) rf.cpu_shares = f->cpu_shares;
    rf.cpuset_cpus = f->cpuset_cpus;
    rf.cpuset_mems = f->cpuset_mems;
    if (sub->count("--pids-limit")) rf.pids_limit = f->pids_limit;
    cgroup::Resources change = container::parse_resource_flags(rf, sysconf(_SC_NPROCESSORS_ONLN));
    std::optional<container::RestartPolicy> restart;
    if (sub->count("--restart")) restart = container::parse_restart_policy(f->restart);
    container::Store store(g.root());
    // Each container's limits after the change must pass run's checks too
    // (--memory-swap alone on a container without -m): all are checked before
    // any is changed.
    for (const auto& ref : f->refs) {
      std::string id;
      try {
        id = store.resolve(ref);
      } catch (const Error&) {
        continue;  // reported below, with the others' results
      }
      const auto cfg = store.config(id);
      container::check_resources(container::merge_resources(cfg.resources, change));
      if (restart && restart->name != "no" && cfg.auto_remove)
        throw Error("Restart policy cannot be updated because AutoRemove is enabled for the container");
    }
    int rc = 0;
    for (const auto& ref : f->refs) {
      try {
        std::string id = store.resolve(ref);
        auto lock = store.lock(id);
        auto cfg = store.config(id);
        cfg.resources = container::merge_resources(cfg.resources, change);
        container::check_resources(cfg.resources);
        if (restart) cfg.restart = *restart;  // the supervisor reads it at the next exit
        const auto s = container::observed_state(store, id);
        if (s.status == "running" && !s.restarting) cgroup::make_manager(id)->apply(change);
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
