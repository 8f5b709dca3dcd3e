#include "runc/kill_delete.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "container/lifecycle.h"
#include "linux/cgroup/manager.h"
#include "runc/hooks.h"
#include "runc/mounts.h"
#include "util/error.h"

namespace mctr::runc {

namespace {

std::unique_ptr<cgroup::Manager> group_of(const ContainerState& s) {
  if (s.cgroup_path.empty()) return nullptr;
  return cgroup::make_manager_at({s.cgroup_path});
}

void signal_all(const ContainerState& s, int sig) {
  auto cg = group_of(s);
  if (!cg || !cg->exists()) {
    ::kill(s.init_pid, sig);
    return;
  }
  // A frozen group would keep the signal pending forever (SIGKILL included on v1).
  const bool frozen = cg->is_frozen();
  for (pid_t pid : cg->pids()) ::kill(pid, sig);
  if (frozen && sig == SIGKILL) cg->set_frozen(false);
}

// Until the init is gone: it is not our child (its reaper is conmon, the
// shim, or init), so we watch its start time, which a zombie no longer has.
bool wait_gone(const ContainerState& s, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (process_start_time(s.init_pid) == s.init_start_time) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

void kill_container(const Store& store, const std::string& id, const std::string& sig, bool all) {
  ContainerState s = store.load(id);
  const int signo = container::parse_signal(sig.empty() ? "SIGTERM" : sig);
  Status status = current_status(store, s);
  if (status == Status::kStopped) {
    // runc: a kill --all of a stopped container still reaches processes left in its cgroup.
    if (all) {
      signal_all(s, signo);
      return;
    }
    throw Error("container not running");
  }
  if (all) {
    signal_all(s, signo);
    return;
  }
  check_sys(::kill(s.init_pid, signo), "kill", "pid " + std::to_string(s.init_pid));
}

void delete_container(const Store& store, const std::string& id, bool force) {
  ContainerState s = store.load(id);
  Status status = current_status(store, s);
  if ((status == Status::kRunning || status == Status::kPaused) && !force)
    throw Error("cannot delete container " + id + " that is not stopped: " + status_name(status));
  if (status != Status::kStopped) {
    // A created container's init never ran the command: ending it is all
    // `delete` needs, with or without --force.
    signal_all(s, SIGKILL);
    ::kill(s.init_pid, SIGKILL);
    if (!wait_gone(s, std::chrono::seconds(10)))
      throw Error("container init " + std::to_string(s.init_pid) + " did not die");
  }
  if (auto cg = group_of(s)) cg->destroy();
  // Without a mount namespace, the container's mounts are the host's: they
  // outlive its processes and go only now.
  if (s.spec.linux_ && !s.spec.linux_->find_namespace("mount")) unmount_host_mounts(s.rootfs);
  store.remove(id);
  if (s.spec.hooks)
    run_hooks_best_effort(s.spec.hooks->poststop, state_json(s, Status::kStopped).dump(), "poststop");
}

}  // namespace mctr::runc
