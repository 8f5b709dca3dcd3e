// minictr tag SOURCE_IMAGE TARGET_IMAGE[:TAG]
#include <memory>

#include "cli/verbs.h"
#include "image/store.h"

namespace mctr::cli {

void add_tag(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  sub->add_option("source", args->first, "SOURCE_IMAGE[:TAG] or image ID")->required();
  sub->add_option("target", args->second, "TARGET_IMAGE[:TAG]")->required();
  sub->callback([&g, args] {
    image::Store(g.root()).tag(args->first, args->second);
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
