// minictr start [-a] CONTAINER...: a stopped container runs again, in its
// own root filesystem and with its own configuration.
#include <iostream>

#include "cli/verbs.h"
#include "container/lifecycle.h"

namespace mctr::cli {

void add_start(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("start", "Start stopped containers");
  auto attach = std::make_shared<bool>(false);
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_flag("-a,--attach", *attach, "Attach STDOUT/STDERR and forward signals");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, attach, refs] {
    container::Store store(g.root());
    int rc = 0;
    for (const auto& ref : *refs) {
      std::string id = store.resolve(ref);
      if (!container::prepare_start(store, id)) {
        std::cout << ref << "\n";  // running already
        continue;
      }
      int code = start_and_follow(g.root(), id, *attach, store.config(id).tty, false);
      if (*attach || code != 0)
        rc = code;
      else
        std::cout << ref << "\n";
    }
    g.exit_code = rc;
  });
}

}  // namespace mctr::cli
