// The verbs that take several containers (stop, kill, rm, pause...): each
// one named, its name printed when done, an error printed per container.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "container/state.h"

namespace mctr::cli {

// Run `action` on each container; report failures per container like Docker
// and return 1 if any failed (0 otherwise).
int for_each_container(const std::vector<std::string>& refs, const container::Store& store,
                       const std::function<void(const std::string& id)>& action);

}  // namespace mctr::cli
