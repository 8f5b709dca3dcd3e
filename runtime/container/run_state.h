// What the supervisor writes to the store about one run of a container:
// running (with its pid, cgroup and address), exited (code, OOM kill,
// error), restarting. state.json is always changed under the container's
// lock, so a stop or kill sees one or the other.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "container/restart.h"
#include "container/state.h"
#include "linux/net/network.h"

namespace mctr::container {

void update_state(const Store& store, const std::string& id, const std::function<void(State&)>& change);

// The container's init runs: its pid (and start time, so a recycled pid is
// never taken for it), the supervisor's, its cgroup and its address.
void record_running(const Store& store, const std::string& id, pid_t pid, const std::string& cgroup_path,
                    const std::optional<net::Attachment>& attachment, bool has_healthcheck);

// The container is no longer running: its exit code, OOM kill and error.
// With `restarts`, its policy may have it restarted: then it stays
// "running" with `restarting` set (Docker's Running + Restarting), decided
// under the lock a stop or kill takes to set stop_requested. Returns the
// delay before that restart.
std::optional<std::chrono::milliseconds> record_exit(const Store& store, const std::string& id, int code,
                                                     bool oom_killed, const std::string& error,
                                                     RestartManager* restarts = nullptr,
                                                     std::chrono::milliseconds ran_for = {});

// A start that threw (its guards have undone what it made): the container
// exited with `code`, or with --rm it is gone, before the CLI hears of it.
void record_failed_start(const std::filesystem::path& root, const std::string& id, int code,
                         const std::string& error);

// A new start by the user: the restart count and a past stop are forgotten
// (as Docker does).
void reset_restart_state(const std::filesystem::path& root, const std::string& id);

// Between two runs: wait out the restart delay, unless a stop or kill ends
// the loop meanwhile (it sets stop_requested and signals us). Returns true
// to start again; otherwise the container is recorded as exited.
bool wait_for_restart(const Store& store, const std::string& id, std::chrono::milliseconds delay);

}  // namespace mctr::container
