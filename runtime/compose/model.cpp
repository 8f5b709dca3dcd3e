// Parsing a compose file into the resolved model (model.h).
#include "compose/model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "build/builder.h"
#include "linux/net/ipv4.h"
#include "linux/net/ipv6.h"
#include "linux/net/network.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/size.h"

namespace mctr::compose {

namespace stdfs = std::filesystem;

namespace {

// Where we are in the file, for messages: "compose.yaml:12:9: services.web.ports[0]: ..."
struct Ctx {
  std::string file;
  stdfs::path dir;
  std::string project;
};

[[noreturn]] void fail(const Ctx& c, const YAML::Node& at, const std::string& key, const std::string& what) {
  const YAML::Mark m = at.Mark();
  std::string where = c.file;
  if (!m.is_null()) where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  throw Error(where + ": " + key + ": " + what);
}

std::string scalar(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(c, n, key, "must be a string");
  return n.Scalar();
}

bool boolean(const Ctx& c, const YAML::Node& n, const std::string& key) {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "true" || s == "True" || s == "yes") return true;
  if (s == "false" || s == "False" || s == "no") return false;
  fail(c, n, key, "must be true or false");
}

long integer(const Ctx& c, const YAML::Node& n, const std::string& key, long min, long max) {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  char* end = nullptr;
  errno = 0;
  const long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || errno || v < min || v > max)
    fail(c, n, key, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

void check_map(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (!n.IsMap()) fail(c, n, key, "must be a mapping");
}

// Keys we do not know are refused: a silently ignored `deploy.replica` is worse.
void check_keys(const Ctx& c, const YAML::Node& n, const std::string& key,
                const std::set<std::string>& known) {
  check_map(c, n, key);
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!known.count(k) && k.rfind("x-", 0) != 0)
      fail(c, kv.first, key.empty() ? k : key + "." + k, "unsupported key (not in minictr's compose subset)");
  }
}

// Compose splits a string command the way a shell would (no expansion).
std::vector<std::string> shell_split(const Ctx& c, const YAML::Node& n, const std::string& key) {
  const std::string& s = n.Scalar();
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (quote) {
      if (ch == quote) {
        quote = 0;
      } else if (ch == '\\' && quote == '"' && i + 1 < s.size() &&
                 (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$')) {
        cur += s[++i];
      } else {
        cur += ch;
      }
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      in_word = true;
    } else if (ch == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += ch;
      in_word = true;
    }
  }
  if (quote) fail(c, n, key, "unterminated quote");
  if (in_word) out.push_back(cur);
  return out;
}

// `command:`/`entrypoint:`: a string (split as a shell would) or a list.
std::vector<std::string> command_of(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) return shell_split(c, n, key);
  if (!n.IsSequence()) fail(c, n, key, "must be a string or a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) out.push_back(scalar(c, n[i], key + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<std::string> string_list(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail(c, n, key, "must be a string or a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) out.push_back(scalar(c, n[i], key + "[" + std::to_string(i) + "]"));
  return out;
}

// `environment:`, `labels:`, `build.args:` as a map (null = from our
// environment) or a list of KEY=VALUE / KEY.
std::vector<std::string> key_values(const Ctx& c, const YAML::Node& n, const std::string& key) {
  std::vector<std::string> out;
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (kv.second.IsNull()) {
        out.push_back(k);
      } else {
        out.push_back(k + "=" + scalar(c, kv.second, key + "." + k));
      }
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string kv = scalar(c, n[i], key + "[" + std::to_string(i) + "]");
      if (kv.empty() || kv[0] == '=') fail(c, n[i], key + "[" + std::to_string(i) + "]", "want KEY=VALUE");
      out.push_back(kv);
    }
  } else {
    fail(c, n, key, "must be a mapping or a list of KEY=VALUE");
  }
  return out;
}

std::map<std::string, std::string> string_map(const Ctx& c, const YAML::Node& n, const std::string& key) {
  std::map<std::string, std::string> out;
  for (const auto& kv : key_values(c, n, key)) {
    const size_t eq = kv.find('=');
    out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return out;
}

stdfs::path host_path(const Ctx& c, const std::string& p) {
  if (p.rfind("~/", 0) == 0 || p == "~") {
    const char* home = std::getenv("HOME");
    return (stdfs::path(home ? home : "/root") / p.substr(p.size() > 1 ? 2 : 1)).lexically_normal();
  }
  stdfs::path out = (c.dir / p).lexically_normal();  // an absolute p stays as it is
  if (out.has_relative_path() && !out.has_filename())
    out = out.parent_path();  // "dir/." -> "dir", not "dir/"
  return out;
}

std::string duration(const Ctx& c, const YAML::Node& n, const std::string& key) {
  std::string s = scalar(c, n, key);
  try {
    build::parse_duration(s);
  } catch (const Error& e) {
    fail(c, n, key, e.what());
  }
  return s;
}

// ---- ports -------------------------------------------------------------

std::string port_short(const Ctx& c, const YAML::Node& n, const std::string& key) {
  std::string spec = scalar(c, n, key);
  try {
    net::parse_port_mappings(spec);
  } catch (const Error& e) {
    fail(c, n, key, "invalid port \"" + spec + "\": " + e.what());
  }
  return spec;
}

std::string port_long(const Ctx& c, const YAML::Node& n, const std::string& key) {
  check_keys(c, n, key, {"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"});
  if (!n["target"]) fail(c, n, key, "a port needs a target");
  const long target = integer(c, n["target"], key + ".target", 1, 65535);
  std::string spec;
  if (n["host_ip"]) spec = scalar(c, n["host_ip"], key + ".host_ip") + ":";
  if (n["published"]) {
    spec += scalar(c, n["published"], key + ".published") + ":";
  } else if (!spec.empty()) {
    spec += ":";  // "ip::target": a free host port on that address
  }
  spec += std::to_string(target);
  if (n["protocol"]) {
    const std::string proto = scalar(c, n["protocol"], key + ".protocol");
    if (proto != "tcp" && proto != "udp") fail(c, n["protocol"], key + ".protocol", "must be tcp or udp");
    spec += "/" + proto;
  }
  if (n["mode"]) {
    const std::string mode = scalar(c, n["mode"], key + ".mode");
    if (mode != "ingress" && mode != "host") fail(c, n["mode"], key + ".mode", "must be ingress or host");
  }
  try {
    net::parse_port_mappings(spec);
  } catch (const Error& e) {
    fail(c, n, key, "invalid port \"" + spec + "\": " + e.what());
  }
  return spec;
}

// ---- volumes -----------------------------------------------------------

bool is_host_path(const std::string& s) { return !s.empty() && (s[0] == '/' || s[0] == '.' || s[0] == '~'); }

void add_volume(const Ctx& c, const YAML::Node& at, const std::string& key, VolumeMount m,
                const std::map<std::string, VolumeDef>& volumes, Service& s) {
  if (m.target.empty() || m.target[0] != '/') fail(c, at, key, "the target must be an absolute path");
  if (m.source.empty())
    fail(c, at, key, "anonymous volumes are not supported: give the volume a name (NAME:" + m.target + ")");
  if (m.type == "volume" && !volumes.count(m.source))
    fail(c, at, key, "service \"" + s.name + "\" refers to undefined volume " + m.source);
  if (m.type == "bind") m.source = host_path(c, m.source).string();
  s.volumes.push_back(m);
}

void volume_short(const Ctx& c, const YAML::Node& n, const std::string& key,
                  const std::map<std::string, VolumeDef>& volumes, Service& s) {
  std::string spec = scalar(c, n, key);
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = spec.find(':', start)) != std::string::npos; start = colon + 1)
    parts.push_back(spec.substr(start, colon - start));
  parts.push_back(spec.substr(start));
  VolumeMount m;
  if (parts.size() == 1) {
    m.target = parts[0];  // anonymous: refused by add_volume
  } else if (parts.size() <= 3) {
    m.source = parts[0];
    m.target = parts[1];
    if (parts.size() == 3) {
      if (parts[2] != "ro" && parts[2] != "rw") fail(c, n, key, "the mode must be ro or rw, not " + parts[2]);
      m.read_only = parts[2] == "ro";
    }
  } else {
    fail(c, n, key, "invalid volume \"" + spec + "\" (want SOURCE:TARGET[:ro])");
  }
  m.type = is_host_path(m.source) ? "bind" : "volume";
  add_volume(c, n, key, m, volumes, s);
}

void volume_long(const Ctx& c, const YAML::Node& n, const std::string& key,
                 const std::map<std::string, VolumeDef>& volumes, Service& s) {
  check_keys(c, n, key, {"type", "source", "target", "read_only", "bind", "volume"});
  VolumeMount m;
  m.type = n["type"] ? scalar(c, n["type"], key + ".type") : "volume";
  if (m.type != "volume" && m.type != "bind") fail(c, n["type"], key + ".type", "must be volume or bind");
  if (n["source"]) m.source = scalar(c, n["source"], key + ".source");
  if (!n["target"]) fail(c, n, key, "a volume needs a target");
  m.target = scalar(c, n["target"], key + ".target");
  if (n["read_only"]) m.read_only = boolean(c, n["read_only"], key + ".read_only");
  add_volume(c, n, key, m, volumes, s);
}

// ---- the parts of a service --------------------------------------------

BuildSpec build_of(const Ctx& c, const YAML::Node& n, const std::string& key) {
  BuildSpec b;
  if (n.IsScalar()) {
    b.context = host_path(c, n.Scalar());
    return b;
  }
  check_keys(c, n, key, {"context", "dockerfile", "args"});
  b.context = host_path(c, n["context"] ? scalar(c, n["context"], key + ".context") : ".");
  if (n["dockerfile"])
    b.dockerfile = (b.context / scalar(c, n["dockerfile"], key + ".dockerfile")).lexically_normal();
  if (n["args"]) b.args = string_map(c, n["args"], key + ".args");
  return b;
}

Healthcheck healthcheck_of(const Ctx& c, const YAML::Node& n, const std::string& key) {
  check_keys(c, n, key,
             {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"});
  Healthcheck h;
  if (n["disable"]) h.disable = boolean(c, n["disable"], key + ".disable");
  if (const auto t = n["test"]) {
    if (t.IsScalar()) {
      h.test = {"CMD-SHELL", t.Scalar()};  // a string is run by the container's shell
    } else {
      h.test = string_list(c, t, key + ".test");
      const std::string kind = h.test.empty() ? "" : h.test[0];
      if (kind != "CMD" && kind != "CMD-SHELL" && kind != "NONE")
        fail(c, t, key + ".test", "must start with CMD, CMD-SHELL or NONE");
    }
    if (!h.test.empty() && h.test[0] == "NONE") h.disable = true;
  }
  if (n["interval"]) h.interval = duration(c, n["interval"], key + ".interval");
  if (n["timeout"]) h.timeout = duration(c, n["timeout"], key + ".timeout");
  if (n["start_period"]) h.start_period = duration(c, n["start_period"], key + ".start_period");
  if (n["retries"]) h.retries = static_cast<int>(integer(c, n["retries"], key + ".retries", 1, 1000));
  if (!h.disable && h.test.empty()) fail(c, n, key, "a healthcheck needs a test (or disable: true)");
  return h;
}

std::string restart_of(const Ctx& c, const YAML::Node& n, const std::string& key) {
  std::string r = scalar(c, n, key);
  if (r == "no" || r == "always" || r == "unless-stopped" || r == "on-failure") return r;
  if (r.rfind("on-failure:", 0) == 0) {
    const std::string count = r.substr(11);
    if (!count.empty() && count.find_first_not_of("0123456789") == std::string::npos) return r;
  }
  fail(c, n, key, "must be no, always, unless-stopped or on-failure[:N], not \"" + r + "\"");
}

void depends_on_of(const Ctx& c, const YAML::Node& n, const std::string& key, Service& s) {
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      s.depends_on.push_back({scalar(c, n[i], key + "[" + std::to_string(i) + "]"), "service_started"});
    return;
  }
  check_map(c, n, key);
  for (const auto& kv : n) {
    Dependency d{kv.first.Scalar(), "service_started"};
    const std::string k = key + "." + d.service;
    if (!kv.second.IsNull()) {
      check_keys(c, kv.second, k, {"condition", "restart", "required"});
      if (const auto cond = kv.second["condition"]) {
        d.condition = scalar(c, cond, k + ".condition");
        if (d.condition != "service_started" && d.condition != "service_healthy" &&
            d.condition != "service_completed_successfully")
          fail(c, cond, k + ".condition",
               "must be service_started, service_healthy or service_completed_successfully");
      }
    }
    s.depends_on.push_back(d);
  }
}

// A service's networks: a list of keys, or a mapping with `aliases:` per
// network. A fixed address (ipv4_address) is refused: minictr leases the
// network's next free address.
void networks_of(const Ctx& c, const YAML::Node& n, const std::string& key, Service& s) {
  auto add = [&](const YAML::Node& at, const std::string& k, const std::string& name) {
    if (std::find(s.networks.begin(), s.networks.end(), name) != s.networks.end())
      fail(c, at, k, "network " + name + " is listed twice");
    s.networks.push_back(name);
  };
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string k = key + "[" + std::to_string(i) + "]";
      add(n[i], k, scalar(c, n[i], k));
    }
    return;
  }
  check_map(c, n, key);
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string k = key + "." + name;
    add(kv.first, k, name);
    if (kv.second.IsNull()) continue;
    for (const char* fixed : {"ipv4_address", "ipv6_address"})
      if (kv.second[fixed])
        fail(c, kv.second[fixed], k + "." + fixed,
             "a fixed address is not supported (minictr leases the network's next free address)");
    check_keys(c, kv.second, k, {"aliases"});
    if (kv.second["aliases"]) s.network_aliases[name] = string_list(c, kv.second["aliases"], k + ".aliases");
  }
}

// deploy: replicas, resources.limits (cpus, memory), restart_policy.condition.
void deploy_of(const Ctx& c, const YAML::Node& n, const std::string& key, Service& s) {
  check_keys(c, n, key, {"replicas", "resources", "restart_policy", "mode"});
  if (n["mode"] && scalar(c, n["mode"], key + ".mode") != "replicated")
    fail(c, n["mode"], key + ".mode", "only replicated is supported");
  if (n["replicas"]) s.replicas = static_cast<int>(integer(c, n["replicas"], key + ".replicas", 0, 1000));
  if (const auto r = n["resources"]) {
    check_keys(c, r, key + ".resources", {"limits", "reservations"});
    if (const auto l = r["limits"]) {
      const std::string lk = key + ".resources.limits";
      check_keys(c, l, lk, {"cpus", "memory"});
      if (l["cpus"]) {
        try {
          s.cpus = std::stod(scalar(c, l["cpus"], lk + ".cpus"));
        } catch (const std::logic_error&) {
          fail(c, l["cpus"], lk + ".cpus", "must be a number of CPUs, e.g. 0.5");
        }
      }
      if (l["memory"]) s.memory = scalar(c, l["memory"], lk + ".memory");
    }
  }
  if (const auto rp = n["restart_policy"]) {
    check_keys(c, rp, key + ".restart_policy", {"condition", "max_attempts"});
    if (rp["condition"]) {
      const std::string cond = scalar(c, rp["condition"], key + ".restart_policy.condition");
      if (cond == "none") {
        s.restart = "no";
      } else if (cond == "any") {
        s.restart = "always";
      } else if (cond == "on-failure") {
        s.restart = "on-failure";
        if (rp["max_attempts"])
          s.restart += ":" + std::to_string(integer(c, rp["max_attempts"],
                                                    key + ".restart_policy.max_attempts", 0, 1000000));
      } else {
        fail(c, rp["condition"], key + ".restart_policy.condition", "must be none, on-failure or any");
      }
    }
  }
}

bool valid_name(const std::string& n) {
  if (n.empty() || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  for (char ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-') return false;
  return true;
}

Service service_of(const Ctx& c, const std::string& name, const YAML::Node& key_node, const YAML::Node& n,
                   const std::map<std::string, VolumeDef>& volumes) {
  const std::string k = "services." + name;
  if (!valid_name(name)) fail(c, key_node, k, "invalid service name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*)");
  if (n.IsNull()) fail(c, key_node, k, "a service needs an image or a build");
  // Made at the first service, not before main() in every minictr process.
  static const std::set<std::string> kServiceKeys = {
      "image",   "build",  "command",   "entrypoint", "environment",    "env_file",
      "ports",   "expose", "volumes",   "networks",   "depends_on",     "healthcheck",
      "restart", "deploy", "mem_limit", "cpus",       "hostname",       "working_dir",
      "user",    "labels", "tty",       "stdin_open", "container_name", "init"};
  check_keys(c, n, k, kServiceKeys);
  Service s;
  s.name = name;
  s.line = key_node.Mark().line + 1;
  if (n["image"]) s.image = scalar(c, n["image"], k + ".image");
  if (n["build"]) s.build = build_of(c, n["build"], k + ".build");
  if (s.image.empty() && !s.build) fail(c, key_node, k, "a service needs an image or a build");
  // An archive named by a relative path is beside the compose file.
  if (const size_t tar = s.image.find(".tar");
      tar != std::string::npos && !s.image.empty() && s.image[0] == '.')
    s.image = host_path(c, s.image).string();
  if (n["command"]) s.command = command_of(c, n["command"], k + ".command");
  if (n["entrypoint"]) s.entrypoint = command_of(c, n["entrypoint"], k + ".entrypoint");
  if (n["environment"]) s.environment = key_values(c, n["environment"], k + ".environment");
  if (n["env_file"]) {
    for (const auto& f : string_list(c, n["env_file"], k + ".env_file")) {
      const stdfs::path p = host_path(c, f);
      if (!stdfs::exists(p)) fail(c, n["env_file"], k + ".env_file", "env file " + p.string() + " not found");
      s.env_files.push_back(p);
    }
  }
  if (const auto ports = n["ports"]) {
    if (!ports.IsSequence()) fail(c, ports, k + ".ports", "must be a list");
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string pk = k + ".ports[" + std::to_string(i) + "]";
      s.ports.push_back(ports[i].IsMap() ? port_long(c, ports[i], pk) : port_short(c, ports[i], pk));
    }
  }
  if (n["expose"]) s.expose = string_list(c, n["expose"], k + ".expose");
  if (const auto vols = n["volumes"]) {
    if (!vols.IsSequence()) fail(c, vols, k + ".volumes", "must be a list");
    for (size_t i = 0; i < vols.size(); ++i) {
      const std::string vk = k + ".volumes[" + std::to_string(i) + "]";
      if (vols[i].IsMap()) {
        volume_long(c, vols[i], vk, volumes, s);
      } else {
        volume_short(c, vols[i], vk, volumes, s);
      }
    }
  }
  if (n["networks"]) networks_of(c, n["networks"], k + ".networks", s);
  if (n["depends_on"]) depends_on_of(c, n["depends_on"], k + ".depends_on", s);
  if (n["healthcheck"]) s.healthcheck = healthcheck_of(c, n["healthcheck"], k + ".healthcheck");
  if (n["restart"]) s.restart = restart_of(c, n["restart"], k + ".restart");
  if (n["deploy"]) deploy_of(c, n["deploy"], k + ".deploy", s);
  if (n["mem_limit"]) {
    const std::string m = scalar(c, n["mem_limit"], k + ".mem_limit");
    if (s.memory && *s.memory != m)
      fail(c, n["mem_limit"], k + ".mem_limit", "differs from deploy.resources.limits.memory");
    s.memory = m;
  }
  if (s.memory) {
    try {
      parse_bytes(*s.memory);
    } catch (const Error& e) {
      fail(c, n["mem_limit"] ? n["mem_limit"] : n["deploy"], k + (n["mem_limit"] ? ".mem_limit" : ".deploy"),
           e.what());
    }
  }
  if (n["cpus"]) {
    double v = 0;
    try {
      v = std::stod(scalar(c, n["cpus"], k + ".cpus"));
    } catch (const std::logic_error&) {
      fail(c, n["cpus"], k + ".cpus", "must be a number of CPUs, e.g. 0.5");
    }
    if (s.cpus && *s.cpus != v) fail(c, n["cpus"], k + ".cpus", "differs from deploy.resources.limits.cpus");
    s.cpus = v;
  }
  if (n["hostname"]) s.hostname = scalar(c, n["hostname"], k + ".hostname");
  if (n["working_dir"]) s.working_dir = scalar(c, n["working_dir"], k + ".working_dir");
  if (n["user"]) s.user = scalar(c, n["user"], k + ".user");
  if (n["container_name"]) s.container_name = scalar(c, n["container_name"], k + ".container_name");
  if (n["labels"]) s.labels = string_map(c, n["labels"], k + ".labels");
  if (n["tty"]) s.tty = boolean(c, n["tty"], k + ".tty");
  if (n["stdin_open"]) s.stdin_open = boolean(c, n["stdin_open"], k + ".stdin_open");
  if (n["init"]) s.init = boolean(c, n["init"], k + ".init");
  if (!s.container_name.empty() && s.replicas > 1)
    fail(c, key_node, k,
         "container_name \"" + s.container_name + "\" cannot be used with " + std::to_string(s.replicas) +
             " replicas");
  return s;
}

// One entry of `ipam.config`: its subnet, checked here so a bad one names
// its line; a gateway only as minictr makes it (the subnet's first address).
void ipam_config(const Ctx& c, const YAML::Node& n, const std::string& key, NetworkDef& d) {
  check_keys(c, n, key, {"subnet", "gateway"});
  if (!n["subnet"]) {
    if (n["gateway"]) fail(c, n["gateway"], key + ".gateway", "a gateway needs its subnet");
    return;
  }
  d.subnet = scalar(c, n["subnet"], key + ".subnet");
  std::string gateway;
  try {
    gateway = d.subnet.find(':') != std::string::npos
                  ? net::format_ipv6(net::Subnet6::parse(d.subnet).gateway())
                  : net::format_ipv4(net::Subnet::parse(d.subnet).gateway());
  } catch (const Error& e) {
    fail(c, n["subnet"], key + ".subnet", e.what());
  }
  if (n["gateway"] && scalar(c, n["gateway"], key + ".gateway") != gateway)
    fail(c, n["gateway"], key + ".gateway",
         "minictr's gateway is the subnet's first address (" + gateway + "), the bridge's own");
}

// Top-level networks: and volumes: (null entries are fine: `volumes: {data:}`).
std::map<std::string, NetworkDef> networks_top(const Ctx& c, const YAML::Node& n) {
  std::map<std::string, NetworkDef> out;
  if (!n) return out;
  check_map(c, n, "networks");
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string k = "networks." + key;
    if (!valid_name(key)) fail(c, kv.first, k, "invalid network name");
    NetworkDef d;
    d.name = c.project + "_" + key;
    if (!kv.second.IsNull()) {
      check_keys(c, kv.second, k, {"name", "external", "driver", "ipam"});
      if (kv.second["external"]) d.external = boolean(c, kv.second["external"], k + ".external");
      if (kv.second["name"]) {
        d.name = scalar(c, kv.second["name"], k + ".name");
      } else if (d.external) {
        d.name = key;
      }
      // As Compose: an external network is used as it is, not configured.
      for (const char* conf : {"driver", "ipam"})
        if (d.external && kv.second[conf])
          fail(c, kv.second[conf], k + "." + conf,
               std::string("conflicting parameters \"external\" and \"") + conf + "\" specified for network");
      if (kv.second["driver"] && scalar(c, kv.second["driver"], k + ".driver") != "bridge")
        fail(c, kv.second["driver"], k + ".driver", "only the bridge driver is supported");
      if (const auto ipam = kv.second["ipam"]) {
        check_keys(c, ipam, k + ".ipam", {"driver", "config"});
        if (const auto cfg = ipam["config"]) {
          if (!cfg.IsSequence() || cfg.size() > 1)
            fail(c, cfg, k + ".ipam.config", "must be a list of one subnet");
          if (cfg.size() == 1) ipam_config(c, cfg[0], k + ".ipam.config[0]", d);
        }
      }
    }
    out[key] = d;
  }
  return out;
}

std::map<std::string, VolumeDef> volumes_top(const Ctx& c, const YAML::Node& n) {
  std::map<std::string, VolumeDef> out;
  if (!n) return out;
  check_map(c, n, "volumes");
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string k = "volumes." + key;
    if (!valid_name(key)) fail(c, kv.first, k, "invalid volume name");
    VolumeDef d;
    d.name = c.project + "_" + key;
    if (!kv.second.IsNull()) {
      check_keys(c, kv.second, k, {"name", "external", "driver"});
      if (kv.second["external"]) d.external = boolean(c, kv.second["external"], k + ".external");
      if (kv.second["name"]) {
        d.name = scalar(c, kv.second["name"], k + ".name");
      } else if (d.external) {
        d.name = key;
      }
      if (kv.second["driver"] && scalar(c, kv.second["driver"], k + ".driver") != "local")
        fail(c, kv.second["driver"], k + ".driver", "only the local driver is supported");
    }
    if (!valid_name(d.name)) fail(c, kv.first, k, "invalid volume name \"" + d.name + "\"");
    out[key] = d;
  }
  return out;
}

// Every scalar value (not the keys) with its variables replaced, in place:
// the nodes keep their marks, so later messages still point into the file.
void interpolate_tree(const Ctx& c, YAML::Node n, const std::string& key, const Lookup& lookup,
                      std::vector<std::string>& warnings) {
  if (n.IsScalar()) {
    try {
      const std::string v = interpolate(n.Scalar(), lookup, [&](const std::string& var) {
        const std::string w = "The \"" + var + "\" variable is not set. Defaulting to a blank string.";
        if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
      });
      if (v != n.Scalar()) n = v;
    } catch (const Error& e) {
      fail(c, n, key, e.what());
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      interpolate_tree(c, n[i], key + "[" + std::to_string(i) + "]", lookup, warnings);
  } else if (n.IsMap()) {
    for (auto kv : n)
      interpolate_tree(c, kv.second, key.empty() ? kv.first.Scalar() : key + "." + kv.first.Scalar(), lookup,
                       warnings);
  }
}

void check_references(const Ctx& c, const YAML::Node& services, Project& p) {
  for (auto& s : p.services) {
    const YAML::Node sn = services[s.name];
    for (const auto& d : s.depends_on) {
      bool found = false;
      for (const auto& o : p.services) found = found || o.name == d.service;
      if (!found)
        fail(c, sn["depends_on"], "services." + s.name + ".depends_on",
             "service \"" + s.name + "\" depends on undefined service \"" + d.service + "\"");
      if (d.service == s.name)
        fail(c, sn["depends_on"], "services." + s.name + ".depends_on", "a service cannot depend on itself");
    }
    if (s.networks.empty()) s.networks.push_back("default");
    for (const auto& net : s.networks) {
      if (net == "default" && !p.networks.count("default"))
        p.networks["default"] = {p.name + "_default", false, ""};
      if (!p.networks.count(net))
        fail(c, sn["networks"], "services." + s.name + ".networks",
             "service \"" + s.name + "\" refers to undefined network " + net);
    }
  }
}

}  // namespace

std::string Service::image_for(const std::string& project) const {
  return !image.empty() ? image : project + "-" + name;
}

const Service& Project::service(const std::string& n) const {
  for (const auto& s : services)
    if (s.name == n) return s;
  throw Error("no such service: " + n);
}

Project parse_project(const std::string& yaml, const std::string& file, const stdfs::path& dir,
                      const std::string& name_flag, const Lookup& lookup) {
  Ctx c{file, dir, ""};
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": " + e.msg);
  }
  if (!root.IsMap()) throw Error(file + ": the top level must be a mapping (services: ...)");
  check_keys(c, root, "", {"version", "name", "services", "networks", "volumes"});
  Project p;
  interpolate_tree(c, root, "", lookup, p.warnings);
  p.file = dir / stdfs::path(file).filename();
  p.dir = dir;
  if (!name_flag.empty()) {
    p.name = project_name(name_flag, false);
  } else if (auto env = lookup("COMPOSE_PROJECT_NAME"); env && !env->empty()) {
    p.name = project_name(*env, false);
  } else if (root["name"]) {
    try {
      p.name = project_name(scalar(c, root["name"], "name"), false);
    } catch (const Error& e) {
      fail(c, root["name"], "name", e.what());
    }
  } else {
    p.name = project_name(dir.filename().string(), true);
  }
  c.project = p.name;

  p.networks = networks_top(c, root["networks"]);
  p.volumes = volumes_top(c, root["volumes"]);
  const YAML::Node services = root["services"];
  if (!services || services.IsNull()) throw Error(file + ": no services: defined");
  check_map(c, services, "services");
  for (const auto& kv : services)
    p.services.push_back(service_of(c, kv.first.Scalar(), kv.first, kv.second, p.volumes));
  check_references(c, services, p);
  start_order(p);  // refuse a cycle now, with its names
  return p;
}

// The compose file `up` reads when -f is not given, as Compose looks for it.
static stdfs::path default_file() {
  for (const char* f : {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"})
    if (stdfs::exists(f)) return stdfs::absolute(f);
  throw Error(
      "no configuration file provided: not found (compose.yaml, compose.yml, docker-compose.yaml, "
      "docker-compose.yml in " +
      stdfs::current_path().string() + ")");
}

Project load_project(const LoadOptions& o) {
  const stdfs::path file = o.file.empty() ? default_file() : stdfs::absolute(o.file).lexically_normal();
  const auto text = fs::read_file_if_exists(file);
  if (!text) throw Error("open " + file.string() + ": no such file or directory");
  const stdfs::path dir = file.parent_path();
  // The process environment wins over .env, as in Compose.
  std::map<std::string, std::string> dotenv;
  if (auto env_text = fs::read_file_if_exists(dir / ".env"))
    dotenv = parse_dotenv(*env_text, (dir / ".env").string());
  const Lookup outer =
      o.environment ? o.environment : [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const Lookup lookup = [outer, dotenv](const std::string& k) -> std::optional<std::string> {
    if (auto v = outer(k)) return v;
    if (auto it = dotenv.find(k); it != dotenv.end()) return it->second;
    return std::nullopt;
  };
  return parse_project(*text, file.string(), dir, o.project_name, lookup);
}

}  // namespace mctr::compose
