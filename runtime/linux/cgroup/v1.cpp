#include "linux/cgroup/v1.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
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

// The hierarchies a container joins. freezer is only used to kill race-free;
// devices holds the device allow-list (written by the security room).
const char* const kControllers[] = {"memory", "cpu",   "cpuacct", "cpuset",
                                    "pids",   "blkio", "freezer", "devices"};

// v1 shows "no limit" as the largest page-aligned counter value, e.g.
// 9223372036854771712 with 4 KiB pages. Anything this large means unlimited.
constexpr uint64_t kV1Unlimited = 1ULL << 62;

std::string limit_or_minus1(int64_t v) { return v > 0 ? std::to_string(v) : "-1"; }

}  // namespace

V1Manager::V1Manager(const std::map<std::string, std::filesystem::path>& mounts, const std::string& id)
    : V1Manager(mounts, GroupPath{"minictr/" + id}) {}

V1Manager::V1Manager(const std::map<std::string, std::filesystem::path>& mounts, const GroupPath& where) {
  for (const char* c : kControllers) {
    auto it = mounts.find(c);
    if (it == mounts.end()) continue;
    std::filesystem::path d = it->second / where.relative;
    dirs_[c] = d;
    mount_of_[d] = it->second;
    if (std::find(unique_dirs_.begin(), unique_dirs_.end(), d) == unique_dirs_.end())
      unique_dirs_.push_back(d);
  }
  if (!dirs_.count("memory")) throw Error("cgroup v1: the memory controller is not mounted");
}

std::filesystem::path V1Manager::dir(const std::string& controller) const {
  auto it = dirs_.find(controller);
  return it == dirs_.end() ? std::filesystem::path() : it->second;
}

std::string V1Manager::path() const {
  std::string out;
  for (const auto& d : unique_dirs_) {
    if (!out.empty()) out += ' ';
    out += d.string();
  }
  return out;
}

bool V1Manager::exists() const { return std::filesystem::is_directory(dir("memory")); }

std::vector<pid_t> V1Manager::pids() const { return read_procs(dir("memory")); }

void V1Manager::make_parents(const std::filesystem::path& d, bool is_cpuset) const {
  auto mount = mount_of_.find(d);
  if (mount == mount_of_.end()) return;
  std::filesystem::path at = mount->second;
  const std::filesystem::path rel = d.parent_path().lexically_relative(at);
  for (const auto& part : rel) {
    if (part == ".") continue;
    at /= part;
    bool made = ::mkdir(at.c_str(), 0755) == 0;
    if (!made && errno != EEXIST) throw_sys("mkdir", at);
    // Untraced: explain_parents() has shown these writes.
    if (made && is_cpuset) {
      v1_init_cpuset(at, false);
      // New children copy cpus and mems from the parent themselves.
      write_value_untraced(at / "cgroup.clone_children", "1");
    }
  }
}

// What create() does for the shared parents (make_parents), as commands
// that change nothing where they are there already: the traced run mostly
// finds them, made by an earlier container; a replay on a fresh host does not.
void V1Manager::explain_parents() const {
  if (!explain::on()) return;
  std::string parents;
  for (const auto& d : unique_dirs_) parents += " " + d.parent_path().string();
  explain::step(
      "mkdir(2)",
      "mkdir -p" + parents + "   # the shared parents: the first container makes them, the next find them");
  const std::filesystem::path cpuset = dir("cpuset");
  const auto mount = mount_of_.find(cpuset);
  if (mount == mount_of_.end()) return;
  std::filesystem::path at = mount->second;
  for (const auto& part : cpuset.parent_path().lexically_relative(at)) {
    if (part == ".") continue;
    const std::filesystem::path parent = at;
    at /= part;
    const std::string cpus = (at / "cpuset.cpus").string(), mems = (at / "cpuset.mems").string();
    explain::step("write(2)", "grep -q . " + cpus + " || { cat " + (parent / "cpuset.cpus").string() + " > " +
                                  cpus + "; cat " + (parent / "cpuset.mems").string() + " > " + mems +
                                  "; echo 1 > " + (at / "cgroup.clone_children").string() +
                                  "; }   # a new cpuset group has no CPUs and no memory nodes: its parent's, "
                                  "which its children then copy");
  }
}

void V1Manager::create() {
  explain_parents();
  explain::step("mkdir(2)", "mkdir " + path() + "   # cgroup v1");
  // On failure remove only what this call made (never a group that was there).
  std::vector<std::filesystem::path> made;
  ScopeGuard undo([&] {
    for (auto it = made.rbegin(); it != made.rend(); ++it) remove_group_tree(*it);
  });
  for (const auto& d : unique_dirs_) {
    bool is_cpuset = d == dir("cpuset");
    // The shared parent (minictr/) stays, but `system prune` may remove it
    // between our two mkdirs: then make it again.
    for (int attempt = 0;; ++attempt) {
      try {
        // Usually the parents are there: then one mkdir per hierarchy.
        if (::mkdir(d.c_str(), 0755) == 0) break;
        if (errno != ENOENT) throw_sys("mkdir", d);
        make_parents(d, is_cpuset);
        check_sys(::mkdir(d.c_str(), 0755), "mkdir", d);
        break;
      } catch (const SysError& e) {
        // ENOENT, or ENODEV from the files of a group being removed right now.
        if ((e.err() != ENOENT && e.err() != ENODEV) || attempt == 10) throw;
      }
    }
    made.push_back(d);
    if (is_cpuset) v1_init_cpuset(d);
  }
  undo.dismiss();
}

// The kernel keeps memory.memsw.limit_in_bytes >= memory.limit_in_bytes at
// every moment, so the order of the two writes matters: when the memsw limit
// goes up, raise it first; when it goes down, lower memory first.
void V1Manager::apply_memory(const Resources& r) {
  std::filesystem::path mem = dir("memory");
  std::filesystem::path memsw = mem / "memory.memsw.limit_in_bytes";
  // Without swap accounting (swapaccount=0) there is no memsw file: like
  // Docker, the swap limit is then silently not applied.
  bool has_memsw = std::filesystem::exists(memsw);
  bool set_swap = r.memory_swap && has_memsw;
  if (r.memory && r.memory_swap && *r.memory > 0 && *r.memory_swap > 0 && *r.memory_swap < *r.memory)
    throw Error("--memory-swap (memory+swap) must be at least --memory");

  if (r.memory && set_swap) {
    uint64_t current_memsw = parse_u64(fs::read_file(memsw));
    uint64_t new_memsw = *r.memory_swap > 0 ? static_cast<uint64_t>(*r.memory_swap) : UINT64_MAX;
    if (new_memsw > current_memsw) {
      write_value(memsw, limit_or_minus1(*r.memory_swap));
      write_value(mem / "memory.limit_in_bytes", limit_or_minus1(*r.memory));
    } else {
      write_value(mem / "memory.limit_in_bytes", limit_or_minus1(*r.memory));
      write_value(memsw, limit_or_minus1(*r.memory_swap));
    }
    return;
  }
  if (r.memory) {
    uint64_t want = *r.memory > 0 ? static_cast<uint64_t>(*r.memory) : UINT64_MAX;
    if (has_memsw && want > parse_u64(fs::read_file(memsw)))
      throw Error("memory limit above the current memory+swap limit: set --memory-swap too");
    write_value(mem / "memory.limit_in_bytes", limit_or_minus1(*r.memory));
  }
  if (set_swap) write_value(memsw, limit_or_minus1(*r.memory_swap));
}

void V1Manager::apply(const Resources& r) {
  apply_memory(r);
  std::filesystem::path cpu = dir("cpu");
  if (r.cpus) {
    // --cpus 0.5 = 50ms of CPU time every 100ms period; -1 = no quota.
    constexpr uint64_t period = 100000;
    write_value(cpu / "cpu.cfs_period_us", std::to_string(period));
    write_value(cpu / "cpu.cfs_quota_us", *r.cpus > 0 ? std::to_string(cfs_quota_us(*r.cpus, period)) : "-1");
  }
  if (r.cpu_shares && *r.cpu_shares > 0) write_value(cpu / "cpu.shares", std::to_string(*r.cpu_shares));
  if (r.cpuset_cpus) write_value(dir("cpuset") / "cpuset.cpus", *r.cpuset_cpus);
  if (r.cpuset_mems) write_value(dir("cpuset") / "cpuset.mems", *r.cpuset_mems);
  if (r.pids_limit) {
    std::filesystem::path pids = dir("pids");
    if (pids.empty()) throw Error("cgroup v1: the pids controller is not mounted");
    write_value(pids / "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max");
  }
}

void V1Manager::add_pid(pid_t pid) {
  for (const auto& d : unique_dirs_) write_value(d / "cgroup.procs", std::to_string(pid));
}

// A write to cgroup.procs moves a whole thread group, so the kernel takes
// cgroup_threadgroup_rwsem for writing: a percpu rwsem whose writer waits
// for an RCU grace period. "0" in `tasks` moves only the writing thread; the
// kernel then skips that lock (current cannot exit or exec under it). For a
// single-threaded caller the result is the same, without the wait.
void V1Manager::join_self() {
  for (const auto& d : unique_dirs_) write_value(d / "tasks", "0", explain::Kind::kJoinCgroup);
}

std::vector<UniqueFd> V1Manager::open_join_files() const {
  std::vector<UniqueFd> files;
  for (const auto& d : unique_dirs_) files.push_back(open_for_write(d / "tasks"));
  return files;
}

Stats V1Manager::stats() const {
  Stats s;
  std::filesystem::path mem = dir("memory");
  if (!exists()) throw Error("cgroup " + mem.string() + " does not exist");
  s.cpu_usage_ns = cpu_usage_ns();

  uint64_t usage = read_u64_or_zero(mem / "memory.usage_in_bytes");
  uint64_t inactive = 0;
  if (auto ms = read_opt(mem / "memory.stat")) inactive = parse_flat_keyed(*ms)["total_inactive_file"];
  s.memory_usage = usage > inactive ? usage - inactive : 0;
  uint64_t limit = read_u64_or_zero(mem / "memory.limit_in_bytes");
  s.memory_limit = (limit == 0 || limit >= kV1Unlimited) ? host_memory_total() : limit;

  std::filesystem::path blkio = dir("blkio");
  if (!blkio.empty()) {
    for (const char* f : {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes",
                          "blkio.io_service_bytes_recursive"}) {
      if (auto text = read_opt(blkio / f)) {
        IoBytes b = parse_blkio_service_bytes(*text);
        s.blk_read = b.read;
        s.blk_write = b.write;
        break;
      }
    }
  }
  std::filesystem::path pids = dir("pids");
  if (!pids.empty()) {
    s.pids_current = read_u64_or_zero(pids / "pids.current");
    if (auto pm = read_opt(pids / "pids.max")) s.pids_limit = parse_limit(*pm).value_or(0);
  }
  s.oom_killed = oom_killed();
  return s;
}

uint64_t V1Manager::cpu_usage_ns() const {
  std::filesystem::path acct = dir("cpuacct");
  return acct.empty() ? 0 : read_u64_or_zero(acct / "cpuacct.usage");
}

bool V1Manager::oom_killed() const {
  // Newer kernels count kills in memory.oom_control ("oom_kill N"); older
  // ones only say whether the group is in an OOM state right now.
  auto oom = read_opt(dir("memory") / "memory.oom_control");
  if (!oom) return false;
  auto kv = parse_flat_keyed(*oom);
  return kv.count("oom_kill") ? kv["oom_kill"] > 0 : kv["under_oom"] > 0;
}

// v1 has no cgroup.kill. Freeze the group so nobody can fork, SIGKILL all,
// thaw: the signals are delivered on thaw and nothing escapes (runc does this).
void V1Manager::freeze_and_kill() {
  std::filesystem::path fr = dir("freezer");
  if (fr.empty() || !std::filesystem::is_directory(fr)) return;
  // Usually the group is empty by now: when a PID namespace's init exits,
  // the kernel kills every other process in it. Nothing to freeze then.
  if (read_procs(fr).empty()) return;
  write_value(fr / "freezer.state", "FROZEN");
  for (int i = 0; i < 200 && fs::trim(fs::read_file(fr / "freezer.state")) != "FROZEN"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // FREEZING: not all tasks stopped yet
  for (pid_t pid : read_procs(fr)) ::kill(pid, SIGKILL);
  write_value(fr / "freezer.state", "THAWED");
}

void V1Manager::allow_devices(const std::vector<DeviceRule>& rules) {
  const std::filesystem::path d = dir("devices");
  if (d.empty() || allows_everything(rules)) return;  // no devices hierarchy; --privileged
  apply_devices_v1(d, rules);
}

void V1Manager::set_frozen(bool frozen) {
  const std::filesystem::path fr = dir("freezer");
  if (fr.empty()) throw Error("cannot pause: this host has no v1 freezer hierarchy");
  const std::string want = frozen ? "FROZEN" : "THAWED";
  write_value(fr / "freezer.state", want);
  // FREEZING while some task has not stopped yet (one in an uninterruptible
  // sleep, say): the kernel keeps trying; we wait up to a second.
  for (int i = 0; i < 200; ++i) {
    if (fs::trim(fs::read_file(fr / "freezer.state")) == want) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (frozen) write_value(fr / "freezer.state", "THAWED");  // not half frozen
  throw Error("cgroup " + fr.string() + " did not reach " + want + " within a second");
}

bool V1Manager::is_frozen() const {
  const std::filesystem::path fr = dir("freezer");
  if (fr.empty()) return false;
  auto state = read_opt(fr / "freezer.state");
  return state && fs::trim(*state) != "THAWED";
}

void V1Manager::destroy() {
  // Usually every group is empty by now (the kernel kills a PID namespace
  // with its init), and one rmdir each is all it takes. At the first that is
  // busy (EBUSY: processes or child groups left), the long way for the rest.
  if (std::all_of(unique_dirs_.begin(), unique_dirs_.end(),
                  [](const std::filesystem::path& d) { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; }))
    return;
  try {
    freeze_and_kill();
  } catch (const SysError&) {
    // Fall back to killing pid by pid below.
  }
  for (const auto& d : unique_dirs_) remove_group_tree(d);
}

}  // namespace mctr::cgroup
