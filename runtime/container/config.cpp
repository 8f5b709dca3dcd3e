#include "container/config.h"

#include "container/logfile.h"
#include "util/error.h"

namespace mctr::cgroup {

using nlohmann::json;

template <typename T>
static void put_opt(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <typename T>
static void get_opt(const json& j, const char* key, std::optional<T>& v) {
  if (j.contains(key) && !j[key].is_null()) v = j[key].get<T>();
}

void to_json(json& j, const Resources& r) {
  j = json::object();
  put_opt(j, "Memory", r.memory);
  put_opt(j, "MemorySwap", r.memory_swap);
  put_opt(j, "NanoCpus", r.cpus ? std::optional<int64_t>(static_cast<int64_t>(*r.cpus * 1e9)) : std::nullopt);
  put_opt(j, "CpuShares", r.cpu_shares);
  put_opt(j, "CpusetCpus", r.cpuset_cpus);
  put_opt(j, "CpusetMems", r.cpuset_mems);
  put_opt(j, "PidsLimit", r.pids_limit);
}

void from_json(const json& j, Resources& r) {
  get_opt(j, "Memory", r.memory);
  get_opt(j, "MemorySwap", r.memory_swap);
  std::optional<int64_t> nano;
  get_opt(j, "NanoCpus", nano);
  if (nano) r.cpus = static_cast<double>(*nano) / 1e9;
  get_opt(j, "CpuShares", r.cpu_shares);
  get_opt(j, "CpusetCpus", r.cpuset_cpus);
  get_opt(j, "CpusetMems", r.cpuset_mems);
  get_opt(j, "PidsLimit", r.pids_limit);
}

}  // namespace mctr::cgroup

namespace mctr::container {

using nlohmann::json;

static json mount_json(const Mount& m) {
  return {{"Type", m.type},
          {"Source", m.source},
          {"Name", m.name},
          {"Destination", m.destination},
          {"RW", !m.read_only}};
}

static Mount mount_from(const json& j) {
  Mount m;
  m.type = j.value("Type", "bind");
  m.source = j.value("Source", "");
  m.name = j.value("Name", "");
  m.destination = j.value("Destination", "");
  m.read_only = !j.value("RW", true);
  return m;
}

static json port_json(const net::PortMapping& p) {
  return {{"HostIp", p.host_ip},
          {"HostPort", p.host_port},
          {"HostPortEnd", p.host_port_end},
          {"ContainerPort", p.container_port},
          {"Proto", p.proto}};
}

static net::PortMapping port_from(const json& j) {
  net::PortMapping p;
  p.host_ip = j.value("HostIp", "");
  p.host_port = j.value("HostPort", 0);
  p.host_port_end = j.value("HostPortEnd", 0);
  p.container_port = j.value("ContainerPort", 0);
  p.proto = j.value("Proto", "tcp");
  return p;
}

std::string_view to_string(RestartName n) {
  switch (n) {
    case RestartName::kNo:
      return "no";
    case RestartName::kOnFailure:
      return "on-failure";
    case RestartName::kAlways:
      return "always";
    case RestartName::kUnlessStopped:
      return "unless-stopped";
  }
  return "no";
}

RestartName restart_name_from_string(std::string_view s) {
  for (auto n :
       {RestartName::kNo, RestartName::kOnFailure, RestartName::kAlways, RestartName::kUnlessStopped})
    if (s == to_string(n)) return n;
  if (s.empty()) return RestartName::kNo;
  throw Error("invalid restart policy: unknown policy '" + std::string(s) +
              "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
}

static json healthcheck_json(const Healthcheck& h) {
  return {{"Test", h.test},       {"Interval", h.interval},
          {"Timeout", h.timeout}, {"StartPeriod", h.start_period},
          {"Retries", h.retries}, {"StartInterval", h.start_interval}};
}

Healthcheck healthcheck_from(const json& j) {
  Healthcheck h;
  h.test = j.value("Test", std::vector<std::string>{});
  h.interval = j.value("Interval", int64_t{0});
  h.timeout = j.value("Timeout", int64_t{0});
  h.start_period = j.value("StartPeriod", int64_t{0});
  h.start_interval = j.value("StartInterval", int64_t{0});
  h.retries = j.value("Retries", 0);
  return h;
}

void to_json(json& j, const Config& c) {
  json mounts = json::array(), ports = json::array();
  for (const auto& m : c.mounts) mounts.push_back(mount_json(m));
  for (const auto& p : c.ports) ports.push_back(port_json(p));
  j = {{"Id", c.id},
       {"Name", c.name},
       {"Image", c.image},
       {"ImageId", c.image_id},
       {"LayerDirs", c.layer_dirs},
       {"Entrypoint", c.entrypoint},
       {"Cmd", c.cmd},
       {"Args", c.args},
       {"Env", c.env},
       {"WorkingDir", c.working_dir},
       {"User", c.user},
       {"Hostname", c.hostname},
       {"Tty", c.tty},
       {"OpenStdin", c.interactive},
       {"AutoRemove", c.auto_remove},
       {"ReadonlyRootfs", c.read_only_rootfs},
       {"Mounts", mounts},
       {"NetworkMode", c.network_mode.str()},
       {"NetworkAliases", c.network_aliases},
       {"Ports", ports},
       {"Resources", c.resources},
       {"CapAdd", c.security.cap_add},
       {"CapDrop", c.security.cap_drop},
       {"Privileged", c.security.privileged},
       {"Seccomp", c.security.seccomp},
       {"SeccompProfile", c.security.seccomp_profile_json},
       {"NoNewPrivileges", c.security.no_new_privs},
       {"LogConfig", {{"Type", "json-file"}, {"Config", c.log_config}}},
       {"RestartPolicy", {{"Name", to_string(c.restart.name)}, {"MaximumRetryCount", c.restart.max_retries}}},
       {"Init", c.init},
       {"UsernsMode", c.userns},
       {"Created", c.created}};
  if (c.healthcheck) j["Healthcheck"] = healthcheck_json(*c.healthcheck);
  if (!c.init_path.empty()) j["InitPath"] = c.init_path;
}

void from_json(const json& j, Config& c) {
  c.id = j.at("Id").get<std::string>();
  c.name = j.value("Name", "");
  c.image = j.value("Image", "");
  c.image_id = j.value("ImageId", "");
  c.layer_dirs = j.value("LayerDirs", std::vector<std::string>{});
  c.entrypoint = j.value("Entrypoint", std::vector<std::string>{});
  c.cmd = j.value("Cmd", std::vector<std::string>{});
  c.args = j.value("Args", std::vector<std::string>{});
  c.env = j.value("Env", std::vector<std::string>{});
  c.working_dir = j.value("WorkingDir", "/");
  c.user = j.value("User", "");
  c.hostname = j.value("Hostname", "");
  c.tty = j.value("Tty", false);
  c.interactive = j.value("OpenStdin", false);
  c.auto_remove = j.value("AutoRemove", false);
  c.read_only_rootfs = j.value("ReadonlyRootfs", false);
  c.mounts.clear();
  for (const auto& m : j.value("Mounts", json::array())) c.mounts.push_back(mount_from(m));
  c.network_mode = NetworkMode::parse(j.value("NetworkMode", "bridge"));
  c.network_aliases = j.value("NetworkAliases", std::vector<std::string>{});
  c.ports.clear();
  for (const auto& p : j.value("Ports", json::array())) c.ports.push_back(port_from(p));
  if (j.contains("Resources")) c.resources = j["Resources"].get<cgroup::Resources>();
  c.security.cap_add = j.value("CapAdd", std::vector<std::string>{});
  c.security.cap_drop = j.value("CapDrop", std::vector<std::string>{});
  c.security.privileged = j.value("Privileged", false);
  c.security.seccomp = j.value("Seccomp", "");
  c.security.seccomp_profile_json = j.value("SeccompProfile", "");
  c.security.no_new_privs = j.value("NoNewPrivileges", true);
  // A config.json from before --log-opt: the default limit applies too.
  c.log_config = {{"max-size", kDefaultLogMaxSize}, {"max-file", kDefaultLogMaxFile}};
  if (j.contains("LogConfig") && j["LogConfig"].contains("Config"))
    c.log_config = j["LogConfig"]["Config"].get<std::map<std::string, std::string>>();
  c.created = j.value("Created", "");
  c.restart = RestartPolicy{};
  if (j.contains("RestartPolicy")) {
    c.restart.name = restart_name_from_string(j["RestartPolicy"].value("Name", "no"));
    c.restart.max_retries = j["RestartPolicy"].value("MaximumRetryCount", 0);
  }
  c.init = j.value("Init", false);
  c.init_path = j.value("InitPath", "");
  c.userns = j.value("UsernsMode", "");
  c.healthcheck.reset();
  if (j.contains("Healthcheck")) c.healthcheck = healthcheck_from(j["Healthcheck"]);
}

}  // namespace mctr::container
