// minictr kill [-s SIG] CONTAINER...
#include "cli/for_each_container.h"
#include "cli/verbs.h"
#include "container/lifecycle.h"

namespace mctr::cli {

void add_kill(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("kill", "Send a signal to running containers (default SIGKILL)");
  auto sig = std::make_shared<std::string>("KILL");
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("-s,--signal", *sig, "Signal to send");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, sig, refs] {
    int signo = container::parse_signal(*sig);
    container::Store store(g.root());
    g.exit_code = for_each_container(
        *refs, store, [&](const std::string& id) { container::kill_container(store, id, signo); });
  });
}

}  // namespace mctr::cli
