// Small file-level helpers shared by the v1 and v2 managers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/explain.h"
#include "util/fd.h"

namespace mctr::cgroup::detail {

using std::filesystem::path;

// Read a cgroup file; nullopt when the file does not exist (controller missing).
std::optional<std::string> read_opt(const path& file);
// Read a number file, 0 when it does not exist.
uint64_t read_u64_or_zero(const path& file);
// Write one value to a cgroup file (throws SysError with the file's path).
// `kind` tells --explain-script what the write is for (joining the group).
void write_value(const path& file, const std::string& value, explain::Kind kind = explain::Kind::kCommand);
// The same, with no --explain step: for writes a step of their own already shows.
void write_value_untraced(const path& file, const std::string& value);
UniqueFd open_for_write(const path& file);  // O_WRONLY | O_CLOEXEC, throws with the path

// The pids listed in dir/cgroup.procs (this group only, not its children).
std::vector<pid_t> read_procs(const path& dir);

// SIGKILL every process in dir/cgroup.procs, again and again, until it is empty
// (a process may fork between our read and our kill). False on timeout.
bool kill_until_empty(const path& dir, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Kill and remove a group and all groups below it, deepest first (rmdir of a
// cgroup dir only works when it has no children and no processes). Missing
// dirs are fine: destroy() is idempotent.
void remove_group_tree(const path& dir);

// Copy cpuset.cpus/cpuset.mems from the parent when empty: a v1 cpuset group
// starts with none, and the kernel refuses to add tasks (ENOSPC) until set.
// `traced`: each write is an --explain step.
void v1_init_cpuset(const path& dir, bool traced = true);

// The CFS quota for --cpus over a period in microseconds (--cpus 1.5, period
// 100000 -> 150000), rounded to the nearest microsecond. cpus must be > 0.
inline uint64_t cfs_quota_us(double cpus, uint64_t period_us) {
  return static_cast<uint64_t>(std::llround(cpus * static_cast<double>(period_us)));
}

// Names of the direct subdirectories of dir (the container groups under minictr/).
std::vector<std::string> child_dirs(const path& dir);

}  // namespace mctr::cgroup::detail
