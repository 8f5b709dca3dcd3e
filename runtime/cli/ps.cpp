// minictr ps [-a] [-q]
#include <cstdio>
#include <iostream>

#include "cli/format.h"
#include "cli/verbs.h"
#include "container/state.h"

namespace mctr::cli {

static std::string command_text(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  if (s.size() > 20) s = s.substr(0, 19) + "…";
  return "\"" + s + "\"";
}

static std::string ports_text(const container::State& s) {
  std::string out;
  if (!s.network) return out;
  for (const auto& p : s.network->ports) {
    if (!out.empty()) out += ", ";
    out += (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.container_port) + "/" + p.proto;
  }
  return out;
}

void add_ps(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("ps", "List containers");
  auto all = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
  sub->add_flag("-a,--all", *all, "Show all containers (default shows just running)");
  sub->add_flag("-q,--quiet", *quiet, "Only display container IDs");
  sub->callback([&g, all, quiet] {
    container::Store store(g.root());
    if (!*quiet)
      std::printf("%-12s   %-20s   %-22s   %-26s   %-30s   %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
                  "STATUS", "PORTS", "NAMES");
    for (const auto& id : store.ids()) {
      container::Config c;
      container::State s;
      try {
        c = store.config(id);
        s = container::observed_state(store, id);
      } catch (const Error&) {
        continue;  // removed while we looked
      }
      if (!*all && s.status != "running") continue;
      if (*quiet) {
        std::printf("%s\n", id.substr(0, 12).c_str());
        continue;
      }
      std::printf("%-12s   %-20s   %-22s   %-26s   %-30s   %s\n", id.substr(0, 12).c_str(), c.image.c_str(),
                  command_text(c.args).c_str(),
                  status_text(s.status, s.exit_code, s.started_at, s.finished_at).c_str(),
                  ports_text(s).c_str(), c.name.c_str());
    }
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
