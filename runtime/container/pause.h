// docker pause / unpause: freeze every process of a running container in its
// cgroup (v1 freezer, v2 cgroup.freeze) and thaw it again. The container
// stays "running"; State::paused says it is frozen.
#pragma once

#include <string>

#include "container/state.h"

namespace mctr::container {

void pause_container(const Store& store, const std::string& id);
void unpause_container(const Store& store, const std::string& id);
// After a signal to a paused container's init (kill, stop): thaw it, so the
// signal is delivered (a frozen task acts on no signal, SIGKILL included,
// until thawed). No-op when it is not paused. Takes no lock (the caller may
// hold the container's).
void thaw_after_signal(const Store& store, const std::string& id);

}  // namespace mctr::container
