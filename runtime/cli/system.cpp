// minictr system prune: remove stopped containers, the image layers nothing
// uses, then the bridge, the nftables table and the cgroup parents when no
// container uses them any more.
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/verbs.h"
#include "container/lifecycle.h"
#include "container/networks.h"
#include "image/store.h"
#include "linux/cgroup/manager.h"

namespace mctr::cli {

void add_system(CLI::App& app, Globals& g) {
  auto* sys = app.add_subcommand("system", "Manage minictr");
  sys->require_subcommand(1);
  auto* prune =
      sys->add_subcommand("prune", "Remove stopped containers, unused layers and unused network pieces");
  auto force = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *force, "Do not prompt for confirmation (accepted for Docker compatibility)");
  prune->callback([&g] {
    container::Store store(g.root());
    std::cout << "Deleted Containers:\n";
    for (const auto& id : store.ids()) {
      try {
        if (container::observed_state(store, id).status == "running") continue;
        container::remove_container(store, id, false);
        std::cout << id << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
      }
    }
    // What a killed --rm supervisor left between unlisting and removing.
    for (const auto& id : store.unlisted_ids()) {
      try {
        if (container::remove_unlisted(store, id)) std::cout << id << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
      }
    }
    store.remove_nursery_leftovers();
    // Layers that no image references and no remaining container uses.
    std::set<std::string> in_use;
    for (const auto& id : store.ids()) {
      try {
        for (const auto& dir : store.config(id).layer_dirs)
          in_use.insert(std::filesystem::path(dir).filename().string());
      } catch (const Error&) {
        // being removed right now
      }
    }
    std::cout << "Deleted Layers:\n";
    for (const auto& diff_id : image::Store(g.root()).prune_layers(in_use)) std::cout << diff_id << "\n";
    container::Networks networks(store);
    auto removed = networks.prune();
    std::cout << "Deleted Networks:\n";
    for (const auto& n : removed) std::cout << n << "\n";
    networks.open("bridge").prune();
    cgroup::remove_unused_parents();
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
