// One interface over cgroup v2 and cgroup v1 (hybrid/legacy hosts).
// Containers live in <mount>/minictr/<id> (v2) or <mount>/<ctrl>/minictr/<id> (v1).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "linux/cgroup/devices.h"
#include "util/fd.h"

namespace mctr::cgroup {

struct Resources {
  std::optional<int64_t> memory;       // bytes; -m
  std::optional<int64_t> memory_swap;  // bytes, memory+swap like Docker; -1 unlimited
  std::optional<double> cpus;          // --cpus 0.5 -> quota 50000 / period 100000
  std::optional<uint64_t> cpu_shares;  // --cpu-shares (v1 shares; v2 converted to weight)
  std::optional<std::string> cpuset_cpus;
  std::optional<std::string> cpuset_mems;
  std::optional<int64_t> pids_limit;  // -1 unlimited
};

struct Stats {
  uint64_t cpu_usage_ns = 0;  // total CPU time of the group
  uint64_t memory_usage = 0;  // usage - inactive_file (Docker's MEM USAGE)
  uint64_t memory_limit = 0;  // limit, or host RAM when unlimited
  uint64_t blk_read = 0, blk_write = 0;
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;  // 0 = unlimited
  bool oom_killed = false;  // the kernel OOM-killed a process in the group
};

enum class Version { kV1, kV2 };
const char* to_string(Version v);  // "v1", "v2"

class Manager {
 public:
  virtual ~Manager() = default;
  virtual void create() = 0;                   // mkdir the group(s)
  virtual void apply(const Resources& r) = 0;  // write limits (also used by `update`)
  virtual void add_pid(pid_t pid) = 0;         // move a process in
  // Move the calling process in. It must be single-threaded (a freshly
  // forked or cloned child): on v1 this writes "0" to `tasks`, which moves
  // only the calling thread but skips the global lock that a cgroup.procs
  // write takes (and its RCU grace period, 1-20 ms).
  virtual void join_self() = 0;
  // The same files, opened now: a process can join later with join_with(),
  // where it can no longer open them (after pivot_root).
  virtual std::vector<UniqueFd> open_join_files() const = 0;
  virtual Stats stats() const = 0;
  // Only Stats::cpu_usage_ns, read from one file: `stats` needs no more for
  // the first of its two samples (the CPU % is a difference).
  virtual uint64_t cpu_usage_ns() const = 0;
  // Only Stats::oom_killed, read from one file: what the supervisor asks at exit.
  virtual bool oom_killed() const = 0;
  // v2: the child can be born in the group (clone3 CLONE_INTO_CGROUP), so
  // the group must exist before the clone; open_for_clone() gives the
  // O_DIRECTORY fd for it. v1 (one group per hierarchy): false and -1, the
  // child is moved in after the clone (join_self or add_pid).
  virtual bool can_clone_into() const { return false; }
  virtual int open_for_clone() const { return -1; }
  // docker pause/unpause: the freezer stops every task of the group where it
  // stands (and keeps new ones from running) until thawed. Returns once the
  // kernel reports the whole group frozen (or thawed).
  virtual void set_frozen(bool frozen) = 0;
  // The group is frozen (or freezing) now: runc's "paused".
  virtual bool is_frozen() const = 0;
  virtual void destroy() = 0;  // kill leftovers, rmdir; idempotent
  virtual Version version() const = 0;
  // The group's path(s), for inspect / --explain.
  virtual std::string path() const = 0;
  // The device allow-list (devices.h): which device nodes the group's
  // processes may mknod and open. v1 writes the rules into the "devices"
  // group's devices.deny/allow (nothing where that controller is not
  // mounted); v2 has no such files and attaches a BPF program to the group.
  virtual void allow_devices(const std::vector<DeviceRule>& rules) = 0;
  virtual bool exists() const = 0;              // the group directory is there
  virtual std::vector<pid_t> pids() const = 0;  // processes in the group (cgroup.procs)
};

// A group at any path below the hierarchy roots, as an OCI bundle's
// linux.cgroupsPath names it ("/machine.slice/ctr-1" -> <mount>/machine.slice/ctr-1
// in each v1 hierarchy, or under the v2 mount). Missing parents are made by
// create(); destroy() removes only the group itself.
struct GroupPath {
  std::string relative;  // "machine.slice/ctr-1": no leading '/', no "..", not empty
};

// Move the calling process into the group whose open_join_files() these are.
void join_with(const std::vector<UniqueFd>& join_files);

// Probe the host and make the right manager for container `id`.
// `cgroup_root` is /sys/fs/cgroup except in tests.
std::unique_ptr<Manager> make_manager(const std::string& id,
                                      const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

// The same for a layout already detected: `stats` makes one manager per
// container and reads mountinfo once, not once per container.
struct HostLayout;
std::unique_ptr<Manager> make_manager(const std::string& id, const HostLayout& host);

// The manager of the group at `where` (runc's cgroupsPath), on this host's layout.
std::unique_ptr<Manager> make_manager_at(const GroupPath& where,
                                         const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

// The shared minictr/ parent groups stay between containers (as Docker's
// docker/ does): making and removing 8 of them on a v1 host was ~0.4 ms of
// every start. `rm` and `system prune` remove them when no container group
// is left in them.
void remove_unused_parents(const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

// Ids of the minictr/<id> groups that exist now (in any hierarchy), so stale
// containers' groups can be found and destroyed.
std::vector<std::string> list_groups(const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

}  // namespace mctr::cgroup
