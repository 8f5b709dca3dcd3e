// minictr top CONTAINER [ps OPTIONS]: the container's processes, as docker top
// shows them (container/top.h).
#include "container/top.h"

#include <iostream>

#include "cli/verbs.h"

namespace mctr::cli {

void add_top(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("top", "Display the running processes of a container");
  auto ref = std::make_shared<std::string>();
  auto ps_args = std::make_shared<std::vector<std::string>>();
  sub->add_option("container", *ref, "Container name or ID")->required();
  sub->add_option("ps_options", *ps_args, "Options for ps (default -ef)");
  // Everything after the container is ps's, options included (-o pid,comm).
  sub->positionals_at_end();
  sub->callback([&g, ref, ps_args] {
    container::Store store(g.root());
    for (const auto& line : container::top_lines(store, store.resolve(*ref), *ps_args))
      std::cout << line << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
