#include "linux/cgroup/common.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <thread>

#include "linux/cgroup/parse.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"

namespace mctr::cgroup::detail {

std::optional<std::string> read_opt(const path& file) { return fs::read_file_if_exists(file); }

uint64_t read_u64_or_zero(const path& file) {
  auto s = read_opt(file);
  return s ? parse_u64(*s) : 0;
}

void write_value(const path& file, const std::string& value, explain::Kind kind) {
  explain::step(kind, "write(2)", "echo " + value + " > " + file.string());
  fs::write_file(file, value);
}

void write_value_untraced(const path& file, const std::string& value) { fs::write_file(file, value); }

UniqueFd open_for_write(const path& file) {
  return UniqueFd(check_sys(::open(file.c_str(), O_WRONLY | O_CLOEXEC), "open", file));
}

std::vector<pid_t> read_procs(const path& dir) {
  std::vector<pid_t> pids;
  auto text = read_opt(dir / "cgroup.procs");
  if (!text) return pids;
  std::istringstream in(*text);
  pid_t pid = 0;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

bool kill_until_empty(const path& dir, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<pid_t> pids = read_procs(dir);
    if (pids.empty()) return true;
    for (pid_t pid : pids) ::kill(pid, SIGKILL);  // ESRCH: already gone, fine
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void remove_group_tree(const path& dir) {
  if (!std::filesystem::is_directory(dir)) return;
  for (const auto& child : child_dirs(dir)) remove_group_tree(dir / child);
  kill_until_empty(dir);
  // A killed process leaves the group a moment after it dies: retry on EBUSY.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::rmdir(dir.c_str()) < 0) {
    if (errno == ENOENT) return;
    if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) throw_sys("rmdir", dir);
    kill_until_empty(dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void v1_init_cpuset(const path& dir, bool traced) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    if (!fs::trim(fs::read_file(dir / file)).empty()) continue;
    std::string from_parent = fs::trim(fs::read_file(dir.parent_path() / file));
    // The parent can be empty too: another minictr made the shared minictr/
    // group a moment ago and has not filled it yet. Fill it first (the same
    // values it will write): an empty copy would refuse our tasks (ENOSPC).
    if (from_parent.empty()) {
      v1_init_cpuset(dir.parent_path(), traced);
      from_parent = fs::trim(fs::read_file(dir.parent_path() / file));
    }
    if (traced)
      write_value(dir / file, from_parent);
    else
      write_value_untraced(dir / file, from_parent);
  }
}

std::vector<std::string> child_dirs(const path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_directory() && !entry.is_symlink()) out.push_back(entry.path().filename());
  return out;
}

}  // namespace mctr::cgroup::detail
