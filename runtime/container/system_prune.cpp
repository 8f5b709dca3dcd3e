#include "container/system_prune.h"

#include "container/image_use.h"
#include "container/lifecycle.h"
#include "container/networks.h"
#include "image/store.h"
#include "linux/cgroup/manager.h"
#include "util/error.h"

namespace mctr::container {

SystemPrune system_prune(const Store& store) {
  SystemPrune out;
  for (const auto& id : store.ids()) {
    try {
      if (observed_state(store, id).status == Status::kRunning) continue;
      remove_container(store, id, false);
      out.containers.push_back(id);
    } catch (const Error& e) {
      out.errors.push_back(e.what());
    }
  }
  // What a killed --rm supervisor left between unlisting and removing.
  for (const auto& id : store.unlisted_ids()) {
    try {
      if (remove_unlisted(store, id)) out.containers.push_back(id);
    } catch (const Error& e) {
      out.errors.push_back(e.what());
    }
  }
  store.remove_nursery_leftovers();
  // Layers that no image references and no remaining container uses.
  out.layers = image::Store(store.root()).prune_layers(layers_in_use(store));
  Networks networks(store);
  out.networks = networks.prune();
  networks.open("bridge").prune();
  cgroup::remove_unused_parents();
  return out;
}

}  // namespace mctr::container
