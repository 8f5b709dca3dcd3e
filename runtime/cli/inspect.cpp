// minictr inspect CONTAINER... : Docker-shaped JSON of config and state.
#include <iostream>

#include "cli/verbs.h"
#include "container/bundle.h"
#include "container/network_connect.h"
#include "container/network_container.h"
#include "container/state.h"
#include "image/store.h"
#include "util/template.h"

namespace mctr::cli {

using nlohmann::json;

static json inspect_json(const container::Store& store, const container::Config& c,
                         const container::State& s) {
  json ports = json::object();
  json mounts = json::array();
  for (const auto& m : c.mounts)
    mounts.push_back({{"Type", m.type},
                      {"Name", m.name},
                      {"Source", m.source},
                      {"Destination", m.destination},
                      {"Mode", m.read_only ? "ro" : ""},
                      {"RW", !m.read_only}});
  json net = {{"IPAddress", ""},  {"IPPrefixLen", 0}, {"Gateway", ""},
              {"MacAddress", ""}, {"Ports", ports},   {"Networks", json::object()}};
  if (s.network) {
    net["IPAddress"] = s.network->ip;
    net["IPPrefixLen"] = s.network->prefix_len;
    net["Gateway"] = s.network->gateway;
    net["MacAddress"] = s.network->mac;
    net["GlobalIPv6Address"] = s.network->ip6;  // "" without MINICTR_SUBNET6
    net["GlobalIPv6PrefixLen"] = s.network->prefix_len6;
    net["IPv6Gateway"] = s.network->gateway6;
    // Docker lists the same per network; `{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}`
    // is the usual way to ask for a container's address.
    net["Networks"] = {{c.network_mode.network_name(),
                        {{"IPAddress", s.network->ip},
                         {"IPPrefixLen", s.network->prefix_len},
                         {"Gateway", s.network->gateway},
                         {"MacAddress", s.network->mac},
                         {"Aliases", c.network_aliases}}}};
    for (const auto& p : s.network->ports)
      net["Ports"][std::to_string(p.container_port) + "/" + p.proto].push_back(
          {{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
  }
  container::add_connected_networks(net["Networks"], store, c.id);  // `network connect`
  json port_bindings = json::object();
  for (const auto& p : c.ports)
    port_bindings[std::to_string(p.container_port) + "/" + p.proto].push_back(
        {{"HostIp", p.host_ip},
         {"HostPort", !p.host_port      ? ""
                      : p.host_port_end ? std::to_string(p.host_port) + "-" + std::to_string(p.host_port_end)
                                        : std::to_string(p.host_port)}});
  json resources = c.resources;
  json host_config = {{"NetworkMode", c.network_mode.str()},
                      {"PortBindings", port_bindings},
                      {"AutoRemove", c.auto_remove},
                      {"Privileged", c.security.privileged},
                      {"ReadonlyRootfs", c.read_only_rootfs},
                      {"CapAdd", c.security.cap_add},
                      {"CapDrop", c.security.cap_drop},
                      {"SecurityOpt", json::array()},
                      {"Binds", json::array()},
                      {"LogConfig", {{"Type", "json-file"}, {"Config", c.log_config}}}};
  for (auto it = resources.begin(); it != resources.end(); ++it) host_config[it.key()] = it.value();
  for (const auto& m : c.mounts)
    host_config["Binds"].push_back((m.type == "volume" ? m.name : m.source) + ":" + m.destination +
                                   (m.read_only ? ":ro" : ""));
  if (!c.security.seccomp.empty()) host_config["SecurityOpt"].push_back("seccomp=" + c.security.seccomp);
  host_config["RestartPolicy"] = {{"Name", to_string(c.restart.name)},
                                  {"MaximumRetryCount", c.restart.max_retries}};
  host_config["Init"] = c.init;
  host_config["UsernsMode"] = c.userns;  // "" (the host's), or the range: docs/01-namespaces.md
  std::vector<std::string> cmd(c.args.begin() + (c.args.empty() ? 0 : 1), c.args.end());
  json state = {{"Status", s.restarting ? "restarting"
                           : s.paused   ? "paused"
                                        : to_string(s.status)},
                {"Running", s.status == container::Status::kRunning},
                {"Paused", s.paused},
                {"Restarting", s.restarting},
                {"OOMKilled", s.oom_killed},
                {"Dead", false},
                {"Pid", s.pid},
                {"ExitCode", s.exit_code},
                {"Error", s.error},
                {"StartedAt", s.started_at.empty() ? "0001-01-01T00:00:00Z" : s.started_at},
                {"FinishedAt", s.finished_at.empty() ? "0001-01-01T00:00:00Z" : s.finished_at}};
  if (s.health) {
    json log = json::array();
    for (const auto& e : s.health->log)
      log.push_back({{"Start", e.start}, {"End", e.end}, {"ExitCode", e.exit_code}, {"Output", e.output}});
    state["Health"] = {{"Status", std::string(container::to_string(s.health->status))},
                       {"FailingStreak", s.health->failing_streak},
                       {"Log", log}};
  }
  json config = {{"Hostname", c.hostname},
                 {"User", c.user},
                 {"Tty", c.tty},
                 {"OpenStdin", c.interactive},
                 {"Env", c.env},
                 {"Cmd", c.cmd.empty() ? json(nullptr) : json(c.cmd)},
                 {"Image", c.image},
                 {"WorkingDir", c.working_dir},
                 {"Entrypoint", c.entrypoint.empty() ? json(nullptr) : json(c.entrypoint)}};
  if (c.healthcheck)
    config["Healthcheck"] = {{"Test", c.healthcheck->test},
                             {"Interval", c.healthcheck->interval},
                             {"Timeout", c.healthcheck->timeout},
                             {"StartPeriod", c.healthcheck->start_period},
                             {"StartInterval", c.healthcheck->start_interval},
                             {"Retries", c.healthcheck->retries}};
  return {{"Id", c.id},
          {"Created", c.created},
          {"Path", c.args.empty() ? "" : c.args[0]},
          {"Args", cmd},
          {"State", state},
          {"Image", c.image_id},
          // Docker's paths of the container's files (--network container:X:
          // X's hosts and resolv.conf); BundlePath is ours: the OCI bundle
          // (config.json) the container runs from.
          {"ResolvConfPath", container::etc_file_path(store.dir(c.id), c, "resolv.conf").string()},
          {"HostnamePath", (store.dir(c.id) / "hostname").string()},
          {"HostsPath", container::etc_file_path(store.dir(c.id), c, "hosts").string()},
          {"LogPath", store.log_path(c.id).string()},
          {"BundlePath", container::bundle_dir(store.dir(c.id)).string()},
          {"Name", "/" + c.name},
          {"RestartCount", s.restart_count},
          {"Driver", "overlay"},
          {"HostConfig", host_config},
          {"Mounts", mounts},
          {"Config", config},
          {"NetworkSettings", net},
          {"CgroupPath", s.cgroup_path}};
}

void add_inspect(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("inspect", "Return low-level information on containers as JSON");
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  sub->add_option("-f,--format", *format, "Format the output with a Go template, e.g. '{{.State.Pid}}'");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, refs, format] {
    container::Store store(g.root());
    json out = json::array();
    int rc = 0;
    for (const auto& ref : *refs) {
      try {
        std::string id = store.resolve(ref);
        json j = inspect_json(store, store.config(id), container::observed_state(store, id));
        if (format->empty())
          out.push_back(std::move(j));
        else
          std::cout << tmpl::render(*format, j) << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
        rc = 1;
      }
    }
    if (format->empty()) std::cout << out.dump(4) << "\n";
    g.exit_code = rc;
  });
}

}  // namespace mctr::cli
