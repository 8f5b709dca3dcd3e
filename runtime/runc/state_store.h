// What a runc-style container leaves behind between commands: its state
// directory <root>/<id>/ with state.json (the init's pid and start time, the
// bundle, the spec it was made from, its cgroup) and, until `start`, the exec
// fifo the init waits on. Nothing stays in memory: create, start, state,
// kill and delete are separate processes, as with runc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oci/spec.h"

namespace mctr::runc {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* status_name(Status s);

struct ContainerState {
  std::string id;
  pid_t init_pid = 0;
  uint64_t init_start_time = 0;  // field 22 of /proc/PID/stat: tells a reused pid apart
  std::string bundle;            // absolute
  std::string rootfs;            // absolute
  std::string created;           // RFC 3339 with nanoseconds
  uid_t owner = 0;
  std::string cgroup_path;  // relative to the hierarchy roots ("" = none made)
  oci::Spec spec;           // config.json as it was at create
};

class Store {
 public:
  explicit Store(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dir(const std::string& id) const { return root_ / id; }
  std::filesystem::path fifo(const std::string& id) const { return dir(id) / "exec.fifo"; }

  // mkdir <root>/<id> (0711); Error "container with id exists: ID" when it is there.
  void make_dir(const std::string& id) const;
  void save(const ContainerState& s) const;
  // Error "container does not exist" (runc's words: callers match on them).
  ContainerState load(const std::string& id) const;
  bool exists(const std::string& id) const;
  void remove(const std::string& id) const;
  std::vector<std::string> ids() const;

 private:
  std::filesystem::path root_;
};

// runc's rule for ids: letters, digits, '_', '+', '-', '.'; not "." or "..".
void check_id(const std::string& id);

// The start time of a process (clock ticks since boot), 0 when it is gone.
uint64_t process_start_time(pid_t pid);

// Where the container is now: its init gone (or its pid reused) -> stopped;
// the exec fifo still there -> created; the freezer frozen -> paused.
Status current_status(const Store& store, const ContainerState& s);

// runc's `state` JSON: ociVersion, id, pid, status, bundle, rootfs, created,
// owner, annotations (what hooks get on stdin, too).
nlohmann::json state_json(const ContainerState& s, Status status);

}  // namespace mctr::runc
