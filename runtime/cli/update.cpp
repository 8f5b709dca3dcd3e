// minictr update [-m ..] [--cpus ..] [--pids-limit ..] [--restart ..] CONTAINER...
// Changes the cgroup limits of running containers (and the saved config).
#include "container/update.h"

#include <iostream>

#include "cli/resource_options.h"
#include "cli/verbs.h"

namespace mctr::cli {

void add_update(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("update", "Update the resource limits of containers");
  struct F {
    ResourceOptions resources;
    std::string restart;
    std::vector<std::string> refs;
  };
  auto f = std::make_shared<F>();
  f->resources.add_to(sub);
  sub->add_option("--restart", f->restart, "Restart policy to apply when a container exits");
  sub->add_option("containers", f->refs, "Containers")->required();
  sub->callback([&g, f, sub] {
    // The same parser and checks as `run`: a bad value is refused (125)
    // before any container is touched, never handed to the kernel.
    container::UpdateRequest req{f->resources.parse(), std::nullopt};
    if (sub->count("--restart")) req.restart = container::parse_restart_policy(f->restart);
    container::Store store(g.root());
    container::check_update(store, f->refs, req);
    int rc = 0;
    for (const auto& ref : f->refs) {
      try {
        container::update_container(store, store.resolve(ref), req);
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
