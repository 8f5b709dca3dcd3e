// minictr stop [-t N] CONTAINER...: SIGTERM, then SIGKILL after N seconds (default 10).
#include "cli/for_each_container.h"
#include "cli/verbs.h"
#include "container/lifecycle.h"

namespace mctr::cli {

void add_stop(CLI::App& app, Globals& g) {
  auto* sub =
      app.add_subcommand("stop", "Stop running containers (SIGTERM, then SIGKILL after a grace period)");
  auto timeout = std::make_shared<int>(10);
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("-t,--time", *timeout, "Seconds to wait before killing the container");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, timeout, refs] {
    container::Store store(g.root());
    g.exit_code = for_each_container(
        *refs, store, [&](const std::string& id) { container::stop_container(store, id, *timeout); });
  });
}

}  // namespace mctr::cli
