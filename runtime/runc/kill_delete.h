// `kill` and `delete`: a signal to the container's init (or, with --all, to
// every process of its cgroup), and the removal of what `create` made:
// the processes left, the cgroup, the state directory, then the poststop hooks.
#pragma once

#include <string>

#include "runc/state_store.h"

namespace mctr::runc {

// `sig` as a name ("KILL", "SIGTERM") or a number. Error "container not running" when it stopped.
void kill_container(const Store& store, const std::string& id, const std::string& sig, bool all);

// Refuses a running or paused container unless `force` (then SIGKILL, and wait until it is gone).
void delete_container(const Store& store, const std::string& id, bool force);

}  // namespace mctr::runc
