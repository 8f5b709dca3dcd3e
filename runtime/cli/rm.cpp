// minictr rm [-f] CONTAINER...
#include "cli/for_each_container.h"
#include "cli/verbs.h"
#include "container/lifecycle.h"

namespace mctr::cli {

void add_rm(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("rm", "Remove containers");
  auto force = std::make_shared<bool>(false);
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, force, refs] {
    container::Store store(g.root());
    g.exit_code = for_each_container(
        *refs, store, [&](const std::string& id) { container::remove_container(store, id, *force); });
  });
}

}  // namespace mctr::cli
