// docker system prune: stopped containers, then the image layers nothing
// uses, then the networks, the default bridge's pieces (bridge, nftables
// table) and the cgroup parents when no container uses them any more.
#pragma once

#include <string>
#include <vector>

#include "container/state.h"

namespace mctr::container {

struct SystemPrune {
  std::vector<std::string> containers, layers, networks;  // what went
  std::vector<std::string> errors;                        // one line per container that could not go
};

SystemPrune system_prune(const Store& store);

}  // namespace mctr::container
