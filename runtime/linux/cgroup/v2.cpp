#include "linux/cgroup/v2.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "linux/cgroup/common.h"
#include "linux/cgroup/host_stats.h"
#include "linux/cgroup/parse.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"
#include "util/scope_guard.h"

namespace mctr::cgroup {

using namespace detail;

namespace {

// The controllers a container's group uses.
constexpr const char* kWanted[] = {"cpu", "cpuset", "io", "memory", "pids"};

std::set<std::string> words(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.insert(w);
  return out;
}

void mkdir_if_missing(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir", dir);
}

// The "no internal processes" rule: a non-root group with processes cannot
// hand controllers to children (EBUSY). This happens when our cgroup mount is
// the root of a cgroup namespace (e.g. inside a container). Do what nsjail
// and docker-in-docker do: move every process into a leaf group, then retry.
// Untraced: explain_parents() has shown these moves as the fallback of the
// subtree_control write (hands_down_controllers).
void move_processes_to_leaf(const std::filesystem::path& dir) {
  std::filesystem::path leaf = dir / "init";
  mkdir_if_missing(leaf);
  for (pid_t pid : read_procs(dir)) {
    try {
      write_value_untraced(leaf / "cgroup.procs", std::to_string(pid));
    } catch (const SysError&) {
      // ESRCH: exited meanwhile; EINVAL: a kernel thread that cannot move.
    }
  }
}

// The shell line that hands `wanted` down from `dir`. Where the rule above
// can stop the write (any group but the hierarchy's root, the only one
// without cgroup.type) and processes may be in `dir` (our mount's top: the
// root of a cgroup namespace, when minictr runs inside a container; or a
// group that has some now), the line moves them into a leaf when the write
// fails, as move_processes_to_leaf() does, and writes again; elsewhere it is
// the write alone.
std::string hands_down_controllers(const std::filesystem::path& dir, const std::string& wanted, bool top) {
  std::string write = "echo " + explain::sh_quote(wanted) + " > " + (dir / "cgroup.subtree_control").string();
  const bool rule_applies = std::filesystem::exists(dir / "cgroup.type");
  if (!rule_applies || (!top && read_procs(dir).empty())) return write;
  const std::string leaf = (dir / "init").string();
  return write + " 2>/dev/null || { mkdir -p " + leaf + "; for p in $(cat " +
         (dir / "cgroup.procs").string() + "); do echo $p > " + leaf +
         "/cgroup.procs 2>/dev/null || true; done; " + write + "; }";
}

std::string limit_or_max(int64_t v) { return v > 0 ? std::to_string(v) : "max"; }

}  // namespace

V2Manager::V2Manager(std::filesystem::path mount, const std::string& id)
    : mount_(std::move(mount)), parent_(mount_ / "minictr"), dir_(parent_ / id) {}

V2Manager::V2Manager(std::filesystem::path mount, const GroupPath& where)
    : mount_(std::move(mount)),
      parent_((mount_ / where.relative).parent_path()),
      dir_(mount_ / where.relative) {}

bool V2Manager::exists() const { return std::filesystem::is_directory(dir_); }

std::vector<pid_t> V2Manager::pids() const { return read_procs(dir_); }

void V2Manager::enable_controllers(const std::filesystem::path& dir) const {
  std::set<std::string> available = words(fs::read_file(dir / "cgroup.controllers"));
  std::set<std::string> enabled = words(fs::read_file(dir / "cgroup.subtree_control"));
  std::string request;
  for (const std::string c : kWanted)
    if (available.count(c) && !enabled.count(c)) request += "+" + c + " ";
  if (request.empty()) return;
  // Untraced: explain_parents() has shown these writes.
  try {
    write_value_untraced(dir / "cgroup.subtree_control", request);
  } catch (const SysError& e) {
    if (e.err() != EBUSY) throw;
    move_processes_to_leaf(dir);
    write_value_untraced(dir / "cgroup.subtree_control", request);
  }
}

// What create() does for the shared parents, as commands that change
// nothing where they are there already: the traced run mostly finds them,
// made by an earlier container; a replay on a fresh host does not. Enabling
// a controller that is enabled is no change.
void V2Manager::explain_parents() const {
  if (!explain::on()) return;
  std::set<std::string> available = words(fs::read_file(mount_ / "cgroup.controllers"));
  std::string wanted;
  for (const std::string c : kWanted)
    if (available.count(c)) wanted += (wanted.empty() ? "+" : " +") + c;
  std::filesystem::path at = mount_;
  explain::step("write(2)",
                hands_down_controllers(at, wanted, true) + "   # the controllers its children may use");
  for (const auto& part : parent_.lexically_relative(mount_)) {
    if (part == ".") continue;
    at /= part;
    explain::step("mkdir(2)", "mkdir -p " + at.string() +
                                  "   # a shared parent: the first container makes it, the next find it");
    explain::step("write(2)", hands_down_controllers(at, wanted, false));
  }
}

void V2Manager::create() {
  explain_parents();
  explain::step("mkdir(2)", "mkdir " + dir_.string() + "   # cgroup v2");
  enable_controllers(mount_);
  // The shared parent (minictr/) stays, but `system prune` may remove it
  // between our two mkdirs: then make it again.
  for (int attempt = 0;; ++attempt) {
    try {
      // Each group on the way hands the controllers down to the next.
      std::filesystem::path at = mount_;
      for (const auto& part : parent_.lexically_relative(mount_)) {
        if (part == ".") continue;
        at /= part;
        mkdir_if_missing(at);
        enable_controllers(at);
      }
      check_sys(::mkdir(dir_.c_str(), 0755), "mkdir", dir_);
      return;
    } catch (const SysError& e) {
      // ENOENT, or ENODEV from the files of a group being removed right now.
      if ((e.err() != ENOENT && e.err() != ENODEV) || attempt == 10) throw;
    }
  }
}

void V2Manager::apply_memory(const Resources& r) {
  if (r.memory) write_value(dir_ / "memory.max", limit_or_max(*r.memory));
  if (!r.memory_swap) return;
  // v2 limits swap alone (memory.swap.max); Docker's --memory-swap is memory+swap.
  if (!std::filesystem::exists(dir_ / "memory.swap.max")) return;  // no swap accounting
  if (*r.memory_swap < 0) {
    write_value(dir_ / "memory.swap.max", "max");
    return;
  }
  std::optional<uint64_t> mem = parse_limit(fs::read_file(dir_ / "memory.max"));
  if (!mem) throw Error("--memory-swap needs a --memory limit");
  if (static_cast<uint64_t>(*r.memory_swap) < *mem)
    throw Error("--memory-swap (memory+swap) must be at least --memory");
  write_value(dir_ / "memory.swap.max", std::to_string(static_cast<uint64_t>(*r.memory_swap) - *mem));
}

void V2Manager::apply(const Resources& r) {
  apply_memory(r);
  if (r.cpus) {
    // --cpus 0.5 = 50ms of CPU time every 100ms period.
    constexpr uint64_t period = 100000;
    std::string quota = *r.cpus > 0 ? std::to_string(cfs_quota_us(*r.cpus, period)) : "max";
    write_value(dir_ / "cpu.max", quota + " " + std::to_string(period));
  }
  if (r.cpu_shares && *r.cpu_shares > 0)
    write_value(dir_ / "cpu.weight", std::to_string(shares_to_weight(*r.cpu_shares)));
  if (r.cpuset_cpus) write_value(dir_ / "cpuset.cpus", *r.cpuset_cpus);
  if (r.cpuset_mems) write_value(dir_ / "cpuset.mems", *r.cpuset_mems);
  if (r.pids_limit) write_value(dir_ / "pids.max", limit_or_max(*r.pids_limit));
}

void V2Manager::add_pid(pid_t pid) { write_value(dir_ / "cgroup.procs", std::to_string(pid)); }

// v2 has no `tasks` file (cgroup.threads is for threaded subtrees only);
// the container's init avoids the write altogether with CLONE_INTO_CGROUP.
void V2Manager::join_self() { write_value(dir_ / "cgroup.procs", "0", explain::Kind::kJoinCgroup); }

std::vector<UniqueFd> V2Manager::open_join_files() const {
  std::vector<UniqueFd> files;
  files.push_back(open_for_write(dir_ / "cgroup.procs"));
  return files;
}

uint64_t V2Manager::cpu_usage_ns() const {
  auto cpu = read_opt(dir_ / "cpu.stat");
  return cpu ? parse_flat_keyed(*cpu)["usage_usec"] * 1000 : 0;
}

Stats V2Manager::stats() const {
  Stats s;
  if (!exists()) throw Error("cgroup " + dir_.string() + " does not exist");
  s.cpu_usage_ns = cpu_usage_ns();

  uint64_t usage = read_u64_or_zero(dir_ / "memory.current");
  uint64_t inactive = 0;
  if (auto ms = read_opt(dir_ / "memory.stat")) inactive = parse_flat_keyed(*ms)["inactive_file"];
  s.memory_usage = usage > inactive ? usage - inactive : 0;
  std::optional<uint64_t> limit;
  if (auto m = read_opt(dir_ / "memory.max")) limit = parse_limit(*m);
  s.memory_limit = limit ? *limit : host_memory_total();

  if (auto io = read_opt(dir_ / "io.stat")) {
    IoBytes b = parse_io_stat(*io);
    s.blk_read = b.read;
    s.blk_write = b.write;
  }
  s.pids_current = read_u64_or_zero(dir_ / "pids.current");
  if (auto pm = read_opt(dir_ / "pids.max")) s.pids_limit = parse_limit(*pm).value_or(0);
  s.oom_killed = oom_killed();
  return s;
}

int V2Manager::open_for_clone() const {
  return check_sys(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", dir_);
}

bool V2Manager::oom_killed() const {
  auto ev = read_opt(dir_ / "memory.events");
  return ev && parse_flat_keyed(*ev)["oom_kill"] > 0;
}

void V2Manager::allow_devices(const std::vector<DeviceRule>& rules) {
  if (allows_everything(rules)) return;  // --privileged
  apply_devices_v2(dir_, rules);
}

void V2Manager::set_frozen(bool frozen) {
  write_value(dir_ / "cgroup.freeze", frozen ? "1" : "0");
  // cgroup.events says "frozen 1" once every task of the group has stopped.
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int i = 0; i < 200; ++i) {
    if (fs::read_file(dir_ / "cgroup.events").find(want) != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (frozen) write_value(dir_ / "cgroup.freeze", "0");  // not half frozen
  throw Error("cgroup " + dir_.string() + " did not report \"" + want + "\" within a second");
}

bool V2Manager::is_frozen() const {
  auto v = read_opt(dir_ / "cgroup.freeze");
  return v && fs::trim(*v) == "1";
}

void V2Manager::destroy() {
  if (!exists()) return;
  // cgroup.kill (Linux 5.14+) SIGKILLs the whole subtree at once, with no
  // race against fork; older kernels fall back to killing pid by pid.
  try {
    if (std::filesystem::exists(dir_ / "cgroup.kill")) write_value(dir_ / "cgroup.kill", "1");
  } catch (const SysError& e) {
    // `rm -f` and the container's supervisor may both destroy the group:
    // the other one was faster.
    if (e.err() == ENOENT || e.err() == ENODEV) return;
    throw;
  }
  remove_group_tree(dir_);
}

}  // namespace mctr::cgroup
