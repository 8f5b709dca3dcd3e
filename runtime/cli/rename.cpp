// minictr rename CONTAINER NEW_NAME (docker rename).
#include "cli/verbs.h"
#include "container/state.h"

namespace mctr::cli {

void add_rename(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("rename", "Rename a container");
  auto ref = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  sub->add_option("container", *ref, "Container name or ID")->required();
  sub->add_option("new_name", *name, "New name")->required();
  sub->callback([&g, ref, name] {
    container::Store store(g.root());
    store.rename(store.resolve(*ref), *name);
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
