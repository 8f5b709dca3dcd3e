// minictr pull [--insecure] REGISTRY/NAME[:TAG|@sha256:...]
// (runtime/registry/pull.h: what goes over the wire).
#include <memory>

#include "cli/registry_helper.h"
#include "cli/verbs.h"

namespace mctr::cli {

void add_pull(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("pull", "Download an image from a registry");
  auto ref = std::make_shared<std::string>();
  auto insecure = std::make_shared<bool>(false);
  sub->add_option("name", *ref, "REGISTRY/NAME[:TAG] or NAME@sha256:DIGEST")->required();
  sub->add_flag("--insecure", *insecure, "Allow plain http and unverified https (always so for localhost)");
  sub->callback([&g, ref, insecure] { g.exit_code = run_registry_helper(g, "pull", *insecure, *ref); });
}

}  // namespace mctr::cli
