// The order services start in, and the resolved model printed back as YAML.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <sstream>

#include "compose/model.h"
#include "util/error.h"

namespace mctr::compose {

// A depth-first walk in file order: each service after what it depends on.
// A service met again while it is still being visited closes a cycle.
std::vector<std::string> start_order(const Project& p) {
  enum class Mark { none, visiting, done };
  std::map<std::string, Mark> mark;
  std::vector<std::string> order, path;
  std::function<void(const Service&)> visit = [&](const Service& s) {
    if (mark[s.name] == Mark::done) return;
    path.push_back(s.name);
    if (mark[s.name] == Mark::visiting) {
      std::string cycle;
      const auto from = std::find(path.begin(), path.end(), s.name);
      for (auto it = from; it != path.end(); ++it) cycle += (cycle.empty() ? "" : " -> ") + *it;
      throw Error("dependency cycle between services: " + cycle);
    }
    mark[s.name] = Mark::visiting;
    for (const auto& d : s.depends_on) visit(p.service(d.service));
    mark[s.name] = Mark::done;
    path.pop_back();
    order.push_back(s.name);
  };
  for (const auto& s : p.services) visit(s);
  return order;
}

static void emit_list(YAML::Emitter& y, const char* key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  y << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& s : v) y << s;
  y << YAML::EndSeq;
}

static void emit_map(YAML::Emitter& y, const char* key, const std::map<std::string, std::string>& m) {
  if (m.empty()) return;
  y << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m) y << YAML::Key << k << YAML::Value << v;
  y << YAML::EndMap;
}

static void emit_service(YAML::Emitter& y, const Project& p, const Service& s) {
  y << YAML::Key << s.name << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "image" << YAML::Value << s.image_for(p.name);
  if (s.build) {
    y << YAML::Key << "build" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "context" << YAML::Value << s.build->context.string();
    y << YAML::Key << "dockerfile" << YAML::Value
      << (s.build->dockerfile.empty() ? (s.build->context / "Dockerfile") : s.build->dockerfile).string();
    emit_map(y, "args", s.build->args);
    y << YAML::EndMap;
  }
  if (!s.container_name.empty()) y << YAML::Key << "container_name" << YAML::Value << s.container_name;
  if (s.entrypoint) {
    y << YAML::Key << "entrypoint" << YAML::Value << YAML::Flow << *s.entrypoint;
  }
  if (s.command) y << YAML::Key << "command" << YAML::Value << YAML::Flow << *s.command;
  emit_list(y, "environment", s.environment);
  std::vector<std::string> env_files;
  for (const auto& f : s.env_files) env_files.push_back(f.string());
  emit_list(y, "env_file", env_files);
  emit_list(y, "ports", s.ports);
  emit_list(y, "expose", s.expose);
  if (!s.volumes.empty()) {
    y << YAML::Key << "volumes" << YAML::Value << YAML::BeginSeq;
    for (const auto& v : s.volumes) {
      y << YAML::BeginMap << YAML::Key << "type" << YAML::Value << v.type;
      y << YAML::Key << "source" << YAML::Value
        << (v.type == "volume" ? p.volumes.at(v.source).name : v.source);
      y << YAML::Key << "target" << YAML::Value << v.target;
      if (v.read_only) y << YAML::Key << "read_only" << YAML::Value << true;
      y << YAML::EndMap;
    }
    y << YAML::EndSeq;
  }
  y << YAML::Key << "networks" << YAML::Value << YAML::BeginMap;
  for (const auto& n : s.networks) {
    y << YAML::Key << n << YAML::Value;
    const auto aliases = s.network_aliases.find(n);
    if (aliases == s.network_aliases.end()) {
      y << YAML::Null;
    } else {
      y << YAML::BeginMap << YAML::Key << "aliases" << YAML::Value << YAML::Flow << aliases->second
        << YAML::EndMap;
    }
  }
  y << YAML::EndMap;
  if (!s.depends_on.empty()) {
    y << YAML::Key << "depends_on" << YAML::Value << YAML::BeginMap;
    for (const auto& d : s.depends_on)
      y << YAML::Key << d.service << YAML::Value << YAML::BeginMap << YAML::Key << "condition" << YAML::Value
        << d.condition << YAML::EndMap;
    y << YAML::EndMap;
  }
  if (s.healthcheck) {
    const auto& h = *s.healthcheck;
    y << YAML::Key << "healthcheck" << YAML::Value << YAML::BeginMap;
    if (h.disable) y << YAML::Key << "disable" << YAML::Value << true;
    if (!h.test.empty()) y << YAML::Key << "test" << YAML::Value << YAML::Flow << h.test;
    if (!h.interval.empty()) y << YAML::Key << "interval" << YAML::Value << h.interval;
    if (!h.timeout.empty()) y << YAML::Key << "timeout" << YAML::Value << h.timeout;
    if (!h.start_period.empty()) y << YAML::Key << "start_period" << YAML::Value << h.start_period;
    if (h.retries) y << YAML::Key << "retries" << YAML::Value << h.retries;
    y << YAML::EndMap;
  }
  if (!s.restart.empty()) y << YAML::Key << "restart" << YAML::Value << s.restart;
  y << YAML::Key << "deploy" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "replicas" << YAML::Value << s.replicas;
  if (s.cpus || s.memory) {
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "limits" << YAML::Value
      << YAML::BeginMap;
    if (s.cpus) y << YAML::Key << "cpus" << YAML::Value << *s.cpus;
    if (s.memory) y << YAML::Key << "memory" << YAML::Value << *s.memory;
    y << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndMap;
  if (!s.hostname.empty()) y << YAML::Key << "hostname" << YAML::Value << s.hostname;
  if (!s.working_dir.empty()) y << YAML::Key << "working_dir" << YAML::Value << s.working_dir;
  if (!s.user.empty()) y << YAML::Key << "user" << YAML::Value << s.user;
  emit_map(y, "labels", s.labels);
  if (s.tty) y << YAML::Key << "tty" << YAML::Value << true;
  if (s.stdin_open) y << YAML::Key << "stdin_open" << YAML::Value << true;
  if (s.init) y << YAML::Key << "init" << YAML::Value << true;
  y << YAML::EndMap;
}

std::string service_yaml(const Project& p, const Service& s) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  emit_service(y, p, s);
  y << YAML::EndMap;
  return y.c_str();
}

std::string to_yaml(const Project& p) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << p.name;
  y << YAML::Key << "services" << YAML::Value << YAML::BeginMap;
  for (const auto& s : p.services) emit_service(y, p, s);
  y << YAML::EndMap;
  if (!p.networks.empty()) {
    y << YAML::Key << "networks" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, n] : p.networks) {
      y << YAML::Key << key << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << n.name;
      if (n.external) y << YAML::Key << "external" << YAML::Value << true;
      if (!n.subnet.empty())
        y << YAML::Key << "ipam" << YAML::Value << YAML::BeginMap << YAML::Key << "config" << YAML::Value
          << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "subnet" << YAML::Value << n.subnet
          << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
      y << YAML::EndMap;
    }
    y << YAML::EndMap;
  }
  if (!p.volumes.empty()) {
    y << YAML::Key << "volumes" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, v] : p.volumes) {
      y << YAML::Key << key << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << v.name;
      if (v.external) y << YAML::Key << "external" << YAML::Value << true;
      y << YAML::EndMap;
    }
    y << YAML::EndMap;
  }
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace mctr::compose
