// The verbs that act on a container's cgroup: ps, pause, resume, update.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runc/state_store.h"

namespace mctr::runc {

// The host pids of the container's processes (its cgroup, or the init alone).
std::vector<pid_t> container_pids(const Store& store, const std::string& id);

void pause_container(const Store& store, const std::string& id);
void resume_container(const Store& store, const std::string& id);

// New linux.resources (the JSON of config.json's "linux.resources" object)
// written to the cgroup and kept in the state.
void update_container(const Store& store, const std::string& id, const std::string& resources_json);

}  // namespace mctr::runc
