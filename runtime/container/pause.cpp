#include "container/pause.h"

#include <utility>

#include "container/events.h"
#include "linux/cgroup/manager.h"
#include "linux/proc.h"
#include "util/error.h"

namespace mctr::container {

namespace {

State running_state(const Store& store, const std::string& id) {
  State s = observed_state(store, id);
  if (s.status != Status::kRunning || !linux_proc::alive(s.pid, s.pid_start))
    throw Error("container " + id.substr(0, 12) + " is not running", 1);
  return s;
}

void set_paused(const Store& store, const std::string& id, bool paused) {
  auto cg = cgroup::make_manager(id);
  cg->set_frozen(paused);
  State s = store.state(id);
  s.paused = paused;
  store.save_state(id, s);
}

}  // namespace

void pause_container(const Store& store, const std::string& id) {
  auto lock = store.lock(id);
  if (running_state(store, id).paused) throw Error("container " + id.substr(0, 12) + " is already paused", 1);
  set_paused(store, id, true);
  emit_event(store.root(), "pause", store.config(id));
}

void unpause_container(const Store& store, const std::string& id) {
  auto lock = store.lock(id);
  if (!running_state(store, id).paused) throw Error("container " + id.substr(0, 12) + " is not paused", 1);
  set_paused(store, id, false);
  emit_event(store.root(), "unpause", store.config(id));
}

void thaw_after_signal(const Store& store, const std::string& id) {
  // No lock here: the callers (stop, kill, rm -f) may hold the container's.
  State s = observed_state(store, id);
  if (!s.paused || s.status != Status::kRunning) return;
  set_paused(store, id, false);
}

FrozenWhileRead::FrozenWhileRead(const Store& store, std::string id) : store_(store), id_(std::move(id)) {
  if (const auto s = observed_state(store_, id_); s.status == Status::kRunning && !s.paused) {
    pause_container(store_, id_);
    frozen_here_ = true;
  }
}

FrozenWhileRead::~FrozenWhileRead() {
  if (!frozen_here_) return;
  try {
    unpause_container(store_, id_);
  } catch (const std::exception&) {
    // it exited meanwhile: nothing to thaw
  }
}

}  // namespace mctr::container
