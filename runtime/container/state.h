// Container state: <root>/containers/<id>/state.json, changed only under
// the container's lock (<root>/containers/<id>/lock).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "container/config.h"
#include "linux/net/network.h"
#include "util/lock.h"

namespace mctr::container {

// Docker's State.Status as minictr keeps it. Docker's "paused" and
// "restarting" are flags on a running container here (State::paused,
// State::restarting), as in Docker's own State struct.
enum class Status { kCreated, kRunning, kExited };
std::string_view to_string(Status s);           // "created", "running", "exited"
Status status_from_string(std::string_view s);  // throws Error on any other word

// Docker's State.Health.Status.
enum class HealthStatus { kStarting, kHealthy, kUnhealthy };
std::string_view to_string(HealthStatus h);  // "starting", "healthy", "unhealthy"
HealthStatus health_status_from_string(std::string_view s);

// Docker's State.Health: the health check's results (container/health.h).
struct HealthLogEntry {
  std::string start, end;  // RFC 3339
  int exit_code = 0;       // 0 healthy, else failed; -1: the check timed out
  std::string output;      // its first 4096 bytes
};
struct Health {
  HealthStatus status = HealthStatus::kStarting;
  int failing_streak = 0;
  std::vector<HealthLogEntry> log;  // the last 5 checks, oldest first
};

struct State {
  Status status = Status::kCreated;
  pid_t pid = 0;           // the container's init, as seen from the host
  uint64_t pid_start = 0;  // its /proc start time (guards against pid reuse)
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  std::string started_at;   // RFC 3339, "" if never
  std::string finished_at;  // RFC 3339, "" if not finished
  std::string cgroup_path;
  std::optional<net::Attachment> network;
  int restart_count = 0;
  bool paused = false;  // `pause`: frozen in its cgroup (status stays "running")
  // Waiting to be restarted by its policy (status stays "running", pid 0, as
  // Docker's Running + Restarting); shown as "restarting".
  bool restarting = false;
  // A stop or kill by the user ended this run: no restart (Docker's
  // HasBeenManuallyStopped / ExitOnNext). Cleared by the next start.
  bool stop_requested = false;
  std::optional<Health> health;  // with a health check only
};

nlohmann::json state_to_json(const State& s);
State state_from_json(const nlohmann::json& j);

// Current time as RFC 3339 with nanoseconds, UTC ("2026-11-22T19:28:00.123456789Z").
std::string now_rfc3339();
// The same for a time given in nanoseconds since the epoch (UTC).
std::string rfc3339(int64_t unix_nanos);

// A --name Docker accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*), at most 128
// characters (it names files and the default hostname); throws otherwise.
void check_container_name(const std::string& name);

// The directory of all containers and the files of each one.
// `bytes` random bytes from the kernel, as 2 * bytes hex digits (ids).
std::string random_hex(size_t bytes);

class Store {
 public:
  explicit Store(std::filesystem::path root);  // the minictr state root

  std::filesystem::path dir(const std::string& id) const { return containers_ / id; }
  std::filesystem::path log_path(const std::string& id) const { return dir(id) / (id + "-json.log"); }
  std::filesystem::path volumes_dir() const { return root_ / "volumes"; }
  const std::filesystem::path& root() const { return root_; }

  // Allocate an id, check the name is free, write config + initial state.
  // Holds the store-wide lock so two runs cannot take the same name.
  void create(Config& cfg);
  Config config(const std::string& id) const;
  void save_config(const Config& c) const;  // `update` changes the resources
  // `rename`: a new name, checked and free (under the store lock, as create).
  void rename(const std::string& id, const std::string& new_name) const;
  State state(const std::string& id) const;
  void save_state(const std::string& id, const State& s) const;
  FileLock lock(const std::string& id) const;

  // Full id, unique id prefix, or name -> id. Throws Error (exit 1) if none.
  std::string resolve(const std::string& ref) const;
  std::vector<std::string> ids() const;  // sorted by creation time, newest first
  // Directories without a config.json: unlisted by a --rm supervisor (or a
  // create that failed half-way) and not removed, e.g. because that
  // supervisor was killed in between. Listed under the store lock, so a
  // container being created right now is never among them.
  std::vector<std::string> unlisted_ids() const;
  void remove(const std::string& id) const;
  // Delete config.json only: the container no longer exists for ps, ids and
  // names (ids() lists directories with a config.json); remove() deletes the
  // rest. Lets --rm answer the CLI before the slower removal of its files.
  void unlist(const std::string& id) const;
  // A container's dir is made elsewhere, then renamed into containers/ (see
  // make_container_dir): remove what a create killed in between left.
  void remove_nursery_leftovers() const;
  // Make the nursery container `id` is born in, if it is not made yet: its
  // supervisor does, after the container exited (see nursery_for).
  void make_nursery(const std::string& id) const;

 private:
  std::filesystem::path root_, containers_;
};

// The state as it really is: a "running" container whose init is gone and
// whose supervisor is gone too (SIGKILLed) is reported as exited.
State observed_state(const Store& store, const std::string& id);

}  // namespace mctr::container
