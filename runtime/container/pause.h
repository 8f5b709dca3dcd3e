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

// Freezes a running, unpaused container for this object's lifetime (commit,
// export: as `docker commit --pause`): none of its processes can swap a
// directory for a symlink to the host under the walk, or change a file
// half-way through its copy. Thaws it again, unless it was paused already.
class FrozenWhileRead {
 public:
  FrozenWhileRead(const Store& store, std::string id);
  ~FrozenWhileRead();
  FrozenWhileRead(const FrozenWhileRead&) = delete;
  FrozenWhileRead& operator=(const FrozenWhileRead&) = delete;

 private:
  const Store& store_;
  std::string id_;
  bool frozen_here_ = false;
};

}  // namespace mctr::container
