// minictr system prune: remove stopped containers, the image layers nothing
// uses, then the bridge, the nftables table and the cgroup parents when no
// container uses them any more (container/system_prune.h).
#include <iostream>

#include "cli/verbs.h"
#include "container/system_prune.h"

namespace mctr::cli {

void add_system(CLI::App& app, Globals& g) {
  auto* sys = app.add_subcommand("system", "Manage minictr");
  sys->require_subcommand(1);
  auto* prune =
      sys->add_subcommand("prune", "Remove stopped containers, unused layers and unused network pieces");
  auto force = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *force, "Do not prompt for confirmation (accepted for Docker compatibility)");
  prune->callback([&g] {
    container::SystemPrune pruned = container::system_prune(container::Store(g.root()));
    for (const auto& e : pruned.errors) std::cerr << "minictr: error: " << e << "\n";
    std::cout << "Deleted Containers:\n";
    for (const auto& id : pruned.containers) std::cout << id << "\n";
    std::cout << "Deleted Layers:\n";
    for (const auto& diff_id : pruned.layers) std::cout << diff_id << "\n";
    std::cout << "Deleted Networks:\n";
    for (const auto& n : pruned.networks) std::cout << n << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
