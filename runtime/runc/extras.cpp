#include "runc/extras.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "linux/cgroup/detect.h"
#include "linux/in_root.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::runc {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw Error("config.json: " + where + ": " + what);
}

template <typename T>
T number(const json& o, const char* key, const std::string& where, T def) {
  if (!o.contains(key)) return def;
  if (!o[key].is_number_integer()) bad(where + "." + key, "expected an integer");
  return o[key].get<T>();
}

void write_if_set(const std::filesystem::path& file, const std::optional<std::string>& value) {
  if (value) fs::write_file(file, *value);
}

}  // namespace

Extras parse_extras(const std::string& config_text) {
  Extras e;
  json c = json::parse(config_text, nullptr, false);
  if (c.is_discarded() || !c.is_object() || !c.contains("linux") || !c["linux"].is_object()) return e;
  const json& l = c["linux"];
  if (l.contains("devices") && l["devices"].is_array()) {
    for (size_t i = 0; i < l["devices"].size(); ++i) {
      const json& d = l["devices"][i];
      const std::string at = "linux.devices[" + std::to_string(i) + "]";
      if (!d.is_object() || !d.contains("path") || !d["path"].is_string()) bad(at + ".path", "required");
      if (!d.contains("type") || !d["type"].is_string() || d["type"].get<std::string>().size() != 1)
        bad(at + ".type", "one of c, b, u, p");
      DeviceNode n;
      n.path = d["path"].get<std::string>();
      if (n.path.empty() || n.path.front() != '/') bad(at + ".path", "must be absolute");
      n.type = d["type"].get<std::string>()[0];
      if (n.type != 'c' && n.type != 'b' && n.type != 'u' && n.type != 'p')
        bad(at + ".type", "one of c, b, u, p");
      n.major = number<int64_t>(d, "major", at, 0);
      n.minor = number<int64_t>(d, "minor", at, 0);
      n.file_mode = number<uint32_t>(d, "fileMode", at, 0666);
      n.uid = number<uint32_t>(d, "uid", at, 0);
      n.gid = number<uint32_t>(d, "gid", at, 0);
      e.devices.push_back(n);
    }
  }
  if (l.contains("resources") && l["resources"].is_object() && l["resources"].contains("memory")) {
    const json& m = l["resources"]["memory"];
    if (m.is_object() && m.contains("swappiness") && m["swappiness"].is_number_integer())
      e.swappiness = m["swappiness"].get<uint64_t>();
  }
  return e;
}

Extras read_extras(const std::string& bundle) {
  return parse_extras(fs::read_file(std::filesystem::path(bundle) / "config.json"));
}

std::vector<cgroup::DeviceRule> device_node_rules(const Extras& e) {
  std::vector<cgroup::DeviceRule> out;
  for (const auto& d : e.devices)
    if (d.type != 'p') out.push_back({d.type == 'b' ? 'b' : 'c', d.major, d.minor, "rwm"});
  return out;
}

void make_device_nodes(const std::string& rootfs, const Extras& e) {
  for (const auto& d : e.devices) {
    std::filesystem::path p(d.path);
    UniqueFd dir(rootfs::open_in_root(rootfs, p.parent_path().string(), true, true));
    const std::string name = p.filename().string();
    const std::string shown = rootfs + d.path;
    mode_t kind = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    ::unlinkat(dir.get(), name.c_str(), 0);  // a default device of the same name is replaced
    dev_t dev = d.type == 'p' ? 0 : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    check_sys(::mknodat(dir.get(), name.c_str(), kind | (d.file_mode & 07777), dev), "mknodat", shown);
    check_sys(::fchmodat(dir.get(), name.c_str(), d.file_mode & 07777, 0), "fchmodat", shown);
    check_sys(::fchownat(dir.get(), name.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW), "fchownat", shown);
  }
}

void apply_extra_resources(const std::string& group, const oci::Spec& spec, const Extras& e) {
  if (!spec.linux_ || !spec.linux_->resources) return;
  const auto& r = *spec.linux_->resources;
  cgroup::HostLayout host = cgroup::detect_layout();
  std::optional<std::string> quota, period, reservation, swappiness, oom;
  if (r.cpu && r.cpu->period) period = std::to_string(*r.cpu->period);
  if (r.cpu && r.cpu->quota) quota = std::to_string(*r.cpu->quota);
  if (r.memory && r.memory->reservation) reservation = std::to_string(*r.memory->reservation);
  if (e.swappiness) swappiness = std::to_string(*e.swappiness);
  if (r.memory && r.memory->disable_oom_killer) oom = *r.memory->disable_oom_killer ? "1" : "0";
  if (host.layout == cgroup::Layout::kUnified) {
    const auto dir = host.unified / group;
    if (quota || period) {
      // cpu.max is "QUOTA PERIOD"; -1 (or none) is "max".
      std::string q = quota && std::stoll(*quota) > 0 ? *quota : "max";
      fs::write_file(dir / "cpu.max", q + " " + period.value_or("100000"));
    }
    write_if_set(dir / "memory.low", reservation);
    return;
  }
  auto v1 = [&](const char* controller) {
    auto it = host.v1.find(controller);
    return it == host.v1.end() ? std::filesystem::path() : it->second / group;
  };
  // The kernel checks the quota against the period in force: period first.
  if (!v1("cpu").empty()) {
    write_if_set(v1("cpu") / "cpu.cfs_period_us", period);
    write_if_set(v1("cpu") / "cpu.cfs_quota_us", quota);
  }
  if (!v1("memory").empty()) {
    write_if_set(v1("memory") / "memory.soft_limit_in_bytes", reservation);
    write_if_set(v1("memory") / "memory.swappiness", swappiness);
    write_if_set(v1("memory") / "memory.oom_control", oom);
  }
}

}  // namespace mctr::runc
