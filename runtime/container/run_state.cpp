#include "container/run_state.h"

#include <poll.h>
#include <sys/signalfd.h>

#include <csignal>

#include "linux/proc.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::container {

namespace {

// update_state for a change that may find nothing to do: `change` says whether it changed s,
// and only then is state.json written.
void update_state_if(const Store& store, const std::string& id, const std::function<bool(State&)>& change) {
  auto lock = store.lock(id);
  State s = store.state(id);
  if (change(s)) store.save_state(id, s);
}

}  // namespace

void update_state(const Store& store, const std::string& id, const std::function<void(State&)>& change) {
  update_state_if(store, id, [&](State& s) {
    change(s);
    return true;
  });
}

void record_running(const Store& store, const std::string& id, pid_t pid, const std::string& cgroup_path,
                    const std::optional<net::Attachment>& attachment, bool has_healthcheck) {
  update_state(store, id, [&](State& s) {
    s.status = Status::kRunning;
    s.restarting = false;
    s.pid = pid;
    s.pid_start = linux_proc::start_time(pid);
    s.supervisor_pid = ::getpid();
    s.supervisor_start = linux_proc::start_time(::getpid());
    s.exit_code = 0;
    s.oom_killed = false;
    s.error.clear();
    s.started_at = now_rfc3339();
    s.finished_at.clear();
    s.cgroup_path = cgroup_path;
    s.network = attachment;
    if (has_healthcheck)
      s.health = Health{HealthStatus::kStarting, 0, s.health ? s.health->log : std::vector<HealthLogEntry>{}};
  });
}

std::optional<std::chrono::milliseconds> record_exit(const Store& store, const std::string& id, int code,
                                                     bool oom_killed, const std::string& error,
                                                     RestartManager* restarts,
                                                     std::chrono::milliseconds ran_for) {
  std::optional<std::chrono::milliseconds> restart_in;
  update_state(store, id, [&](State& s) {
    // The policy as it is now: `update --restart` may have changed it.
    if (restarts)
      restart_in = restarts->after_exit(store.config(id).restart, code, s.stop_requested, ran_for);
    s.status = restart_in ? Status::kRunning : Status::kExited;
    s.restarting = restart_in.has_value();
    if (restart_in) s.restart_count = restarts->restart_count();
    if (s.health) s.health->status = HealthStatus::kUnhealthy;  // no process left to be healthy
    s.exit_code = code;
    s.oom_killed = oom_killed;
    s.error = error;
    s.pid = 0;
    s.finished_at = now_rfc3339();
    s.network.reset();
  });
  return restart_in;
}

void record_failed_start(const std::filesystem::path& root, const std::string& id, int code,
                         const std::string& error) {
  try {
    Store store(root);
    if (store.config(id).auto_remove) {
      store.unlist(id);
      store.remove(id);
    } else {
      record_exit(store, id, code, false, error);
    }
  } catch (const std::exception&) {
    // The store itself failed: the error still goes to the CLI.
  }
}

void reset_restart_state(const std::filesystem::path& root, const std::string& id) {
  try {
    update_state_if(Store(root), id, [](State& s) {
      if (s.restart_count == 0 && !s.stop_requested) return false;  // a first start has no state.json
      s.restart_count = 0;
      s.stop_requested = false;
      return true;
    });
  } catch (const std::exception&) {
    // The start meets the same store and reports it.
  }
}

bool wait_for_restart(const Store& store, const std::string& id, std::chrono::milliseconds delay) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(check_sys(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));
  pollfd p{sigfd.get(), POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + delay;
  bool interrupted = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())
            .count();
    if (left <= 0) break;
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) {
      interrupted = true;
      break;
    }
  }
  bool again = false;
  update_state(store, id, [&](State& s) {
    again = !interrupted && !s.stop_requested;
    if (again) return;
    s.status = Status::kExited;
    s.restarting = false;
  });
  return again;
}

}  // namespace mctr::container
