// minictr push [--insecure] REGISTRY/NAME[:TAG]
// (runtime/registry/push.h: what goes over the wire).
#include <memory>

#include "cli/registry_helper.h"
#include "cli/verbs.h"

namespace mctr::cli {

void add_push(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("push", "Upload an image to a registry");
  auto ref = std::make_shared<std::string>();
  auto insecure = std::make_shared<bool>(false);
  sub->add_option("name", *ref, "REGISTRY/NAME[:TAG]")->required();
  sub->add_flag("--insecure", *insecure, "Allow plain http and unverified https (always so for localhost)");
  sub->callback([&g, ref, insecure] { g.exit_code = run_registry_helper(g, "push", *insecure, *ref); });
}

}  // namespace mctr::cli
