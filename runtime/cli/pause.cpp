// minictr pause CONTAINER... / unpause CONTAINER... (docker pause): freeze and
// thaw all processes of containers in their cgroup (container/pause.h).
#include "container/pause.h"

#include "cli/for_each_container.h"
#include "cli/verbs.h"

namespace mctr::cli {

static void add_freeze_verb(CLI::App& app, Globals& g, const char* name, const char* help,
                            void (*act)(const container::Store&, const std::string&)) {
  auto* sub = app.add_subcommand(name, help);
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("containers", *refs, "Container names or IDs")->required();
  sub->callback([&g, refs, act] {
    container::Store store(g.root());
    g.exit_code = for_each_container(*refs, store, [&](const std::string& id) { act(store, id); });
  });
}

void add_pause(CLI::App& app, Globals& g) {
  add_freeze_verb(app, g, "pause", "Pause all processes within containers", container::pause_container);
}

void add_unpause(CLI::App& app, Globals& g) {
  add_freeze_verb(app, g, "unpause", "Unpause all processes within containers", container::unpause_container);
}

}  // namespace mctr::cli
