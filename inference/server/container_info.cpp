#include "server/container_info.h"

#include <unistd.h>

#include <charconv>
#include <optional>
#include <sstream>

#include "util/fs.h"

namespace mctr::infer {

using json = nlohmann::json;

namespace {

std::optional<std::string> read_small(const std::string& path) {
  try {
    auto text = fs::read_file_if_exists(path);
    if (text) return fs::trim(*text);
  } catch (const std::exception&) {
    // Unreadable (EACCES, a controller not enabled): the key is left out.
  }
  return std::nullopt;
}

std::optional<int64_t> to_int(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// v1 writes "no limit" as a huge number (PAGE_COUNTER_MAX pages, 9223372036854771712),
// v2 as "max"; both become null.
constexpr int64_t kUnlimitedFrom = int64_t{1} << 62;
json limit_value(const std::string& s) {
  if (s == "max") return nullptr;
  auto v = to_int(s);
  if (!v || *v < 0 || *v >= kUnlimitedFrom) return nullptr;
  return *v;
}

// Sets j[key] from the file when it is there and holds a number (or "max", for limits).
void put(json& j, const char* key, const std::string& path, bool is_limit) {
  auto text = read_small(path);
  if (!text) return;
  if (is_limit) {
    j[key] = limit_value(*text);
  } else if (auto v = to_int(*text)) {
    j[key] = *v;
  }
}

void cpu_limit(json& cpu, std::optional<int64_t> quota, std::optional<int64_t> period) {
  if (period) cpu["period_us"] = *period;
  if (quota && *quota > 0) {
    cpu["quota_us"] = *quota;
    if (period && *period > 0) cpu["limit_cpus"] = static_cast<double>(*quota) / static_cast<double>(*period);
  } else {
    cpu["quota_us"] = nullptr;
    cpu["limit_cpus"] = nullptr;
  }
}

json read_v2(const std::string& root) {
  json j = {{"cgroup", "v2"}};
  json mem = json::object(), cpu = json::object(), pids = json::object();
  put(mem, "limit_bytes", root + "/memory.max", true);
  put(mem, "usage_bytes", root + "/memory.current", false);
  if (auto max = read_small(root + "/cpu.max")) {
    std::istringstream in(*max);
    std::string q, p;
    in >> q >> p;
    cpu_limit(cpu, q == "max" ? std::nullopt : to_int(q), to_int(p));
  }
  if (auto stat = read_small(root + "/cpu.stat")) {
    std::istringstream in(*stat);
    std::string key, value;
    while (in >> key >> value)
      if (key == "usage_usec")
        if (auto v = to_int(value)) cpu["usage_usec"] = *v;
  }
  put(pids, "limit", root + "/pids.max", true);
  put(pids, "current", root + "/pids.current", false);
  j["memory"] = mem, j["cpu"] = cpu, j["pids"] = pids;
  return j;
}

json read_v1(const std::string& root) {
  json j = {{"cgroup", "v1"}};
  json mem = json::object(), cpu = json::object(), pids = json::object();
  put(mem, "limit_bytes", root + "/memory/memory.limit_in_bytes", true);
  put(mem, "usage_bytes", root + "/memory/memory.usage_in_bytes", false);
  auto quota = read_small(root + "/cpu/cpu.cfs_quota_us");
  auto period = read_small(root + "/cpu/cpu.cfs_period_us");
  if (quota || period)
    cpu_limit(cpu, quota ? to_int(*quota) : std::nullopt, period ? to_int(*period) : std::nullopt);
  if (auto ns = read_small(root + "/cpuacct/cpuacct.usage"))
    if (auto v = to_int(*ns)) cpu["usage_usec"] = *v / 1000;
  put(pids, "limit", root + "/pids/pids.max", true);
  put(pids, "current", root + "/pids/pids.current", false);
  j["memory"] = mem, j["cpu"] = cpu, j["pids"] = pids;
  return j;
}

// In a cgroup namespace every line of /proc/self/cgroup ("4:memory:/", "0::/") ends in "/".
bool in_cgroup_namespace(const std::string& proc_self_cgroup) {
  std::istringstream in(proc_self_cgroup);
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    any = true;
    if (line.substr(line.rfind(':') + 1) != "/") return false;
  }
  return any;
}

}  // namespace

json container_info(const std::string& root, const std::string& proc_self_cgroup) {
  json j;
  if (access((root + "/cgroup.controllers").c_str(), F_OK) == 0) {
    j = read_v2(root);
  } else if (access((root + "/memory").c_str(), F_OK) == 0 || access((root + "/pids").c_str(), F_OK) == 0) {
    j = read_v1(root);
  } else {
    return {{"in_container", false}, {"cgroup", nullptr}, {"message", "not in a container: no " + root}};
  }
  bool own = in_cgroup_namespace(proc_self_cgroup);
  j["in_container"] = own;
  j["message"] = own ? "the container's own cgroup (" + j["cgroup"].get<std::string>() + ")"
                     : "not in a container: " + root + " is the host's cgroup tree";
  return j;
}

json container_info_now(const std::string& cgroup_root) {
  std::string self;
  try {
    self = fs::read_file("/proc/self/cgroup");
  } catch (const std::exception&) {
    // No /proc: nothing says we are in a namespace.
  }
  return container_info(cgroup_root, self);
}

}  // namespace mctr::infer
