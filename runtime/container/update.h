// docker update: new limits (and a new restart policy) for containers,
// running or not.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "container/restart.h"
#include "container/state.h"
#include "linux/cgroup/manager.h"

namespace mctr::container {

struct UpdateRequest {
  cgroup::Resources change;              // only the fields that are set change
  std::optional<RestartPolicy> restart;  // read by the supervisor at the next exit
};

// Every named container's limits after the change must pass run's checks
// (--memory-swap alone on a container without -m): all are checked before
// any is changed. Names that do not resolve are left to update_container.
void check_update(const Store& store, const std::vector<std::string>& refs, const UpdateRequest& req);

// One container: its saved config, and its cgroup when it runs now.
void update_container(const Store& store, const std::string& id, const UpdateRequest& req);

}  // namespace mctr::container
