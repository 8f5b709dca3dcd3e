// minictr ps [-a] [-q] [--no-trunc] [--format table|json|TEMPLATE]
#include <iostream>

#include "cli/format.h"
#include "cli/verbs.h"
#include "container/state.h"
#include "util/listing.h"

namespace mctr::cli {

namespace {

// The fields of docker ps --format (those minictr has), and its default table.
const listing::Table kPsTable{
    {{"ID", "CONTAINER ID"},
     {"Image", "IMAGE"},
     {"Command", "COMMAND"},
     {"CreatedAt", "CREATED AT"},
     {"RunningFor", "CREATED"},
     {"Ports", "PORTS"},
     {"State", "STATE"},
     {"Status", "STATUS"},
     {"Names", "NAMES"},
     {"Mounts", "MOUNTS"},
     {"Networks", "NETWORKS"}},
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"};

std::string command_text(const std::vector<std::string>& args, bool no_trunc) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  if (!no_trunc && s.size() > 20) s = s.substr(0, 19) + "…";
  return "\"" + s + "\"";
}

std::string ports_text(const container::State& s) {
  std::string out;
  if (!s.network) return out;
  for (const auto& p : s.network->ports) {
    if (!out.empty()) out += ", ";
    out += (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.container_port) + "/" + p.proto;
  }
  return out;
}

// Docker lists volume names and bind sources, comma-separated.
std::string mounts_text(const container::Config& c) {
  std::string out;
  for (const auto& m : c.mounts) out += (out.empty() ? "" : ",") + (m.type == "volume" ? m.name : m.source);
  return out;
}

// Docker's STATUS: "Restarting (1) 2 seconds ago" between two runs of a
// restart policy, "Up 5 seconds (healthy)" with a health check.
std::string status_column(const container::State& s) {
  if (s.status == container::Status::kRunning && s.restarting)
    return "Restarting (" + std::to_string(s.exit_code) + ") " +
           human_duration(seconds_since(s.finished_at)) + " ago";
  std::string text = status_text(s.status, s.exit_code, s.started_at, s.finished_at);
  if (s.paused) return text + " (Paused)";
  if (s.status == container::Status::kRunning && s.health)
    text += s.health->status == container::HealthStatus::kStarting
                ? " (health: starting)"
                : " (" + std::string(to_string(s.health->status)) + ")";
  return text;
}

std::string state_column(const container::State& s) {
  if (s.status == container::Status::kRunning && s.restarting) return "restarting";
  return s.paused ? "paused" : std::string(to_string(s.status));
}

nlohmann::json ps_row(const std::string& id, const container::Config& c, const container::State& s,
                      bool no_trunc) {
  return {{"ID", no_trunc ? id : id.substr(0, 12)},
          {"Image", c.image},
          {"Command", command_text(c.args, no_trunc)},
          {"CreatedAt", go_time_text(c.created)},
          {"RunningFor", human_duration(seconds_since(c.created)) + " ago"},
          {"Ports", ports_text(s)},
          {"State", state_column(s)},
          {"Status", status_column(s)},
          {"Names", c.name},
          {"Mounts", mounts_text(c)},
          {"Networks", c.network_mode.str()}};
}

}  // namespace

void add_ps(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("ps", "List containers");
  auto all = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
  auto no_trunc = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>();
  sub->add_flag("-a,--all", *all, "Show all containers (default shows just running)");
  sub->add_flag("-q,--quiet", *quiet, "Only display container IDs");
  sub->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
  sub->add_option("--format", *format,
                  "table (default), json, 'table TEMPLATE' or a Go TEMPLATE, e.g. '{{.ID}}\\t{{.Names}}'");
  sub->callback([&g, all, quiet, no_trunc, format] {
    container::Store store(g.root());
    std::vector<nlohmann::json> rows;
    for (const auto& id : store.ids()) {
      container::Config c;
      container::State s;
      try {
        s = container::observed_state(store, id);
        if (!*all && s.status != container::Status::kRunning) continue;
        c = store.config(id);  // only for the rows shown: a parse each
      } catch (const Error&) {
        continue;  // removed while we looked
      }
      rows.push_back(ps_row(id, c, s, *no_trunc));
    }
    // -q wins over --format, as in Docker.
    std::cout << listing::format_rows(*quiet ? "{{.ID}}" : *format, kPsTable, rows);
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
