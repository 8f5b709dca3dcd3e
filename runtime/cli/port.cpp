// minictr port CONTAINER [PRIVATE_PORT[/PROTO]]: the published ports of a
// running container, as docker port prints them ("80/tcp -> 0.0.0.0:8080").
#include <iostream>

#include "cli/verbs.h"
#include "container/state.h"

namespace mctr::cli {

void add_port(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("port", "List a container's published ports");
  auto ref = std::make_shared<std::string>();
  auto filter = std::make_shared<std::string>();
  sub->add_option("container", *ref, "Container name or ID")->required();
  sub->add_option("private_port", *filter, "Only this container port, e.g. 80 or 80/tcp");
  sub->callback([&g, ref, filter] {
    container::Store store(g.root());
    const container::State s = container::observed_state(store, store.resolve(*ref));
    std::string want = *filter;
    if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
    bool found = false;
    if (s.status == container::Status::kRunning && s.network)
      for (const auto& p : s.network->ports) {
        const std::string key = std::to_string(p.container_port) + "/" + p.proto;
        if (!want.empty() && key != want) continue;
        const std::string host =
            (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port);
        std::cout << (want.empty() ? key + " -> " : "") << host << "\n";
        found = true;
      }
    if (!want.empty() && !found) throw Error("No public port '" + want + "' published for " + *ref);
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
