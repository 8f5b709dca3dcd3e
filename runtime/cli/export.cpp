// minictr export [-o FILE] CONTAINER: the container's filesystem as a tar.
#include <unistd.h>

#include <memory>

#include "build/export_import.h"
#include "cli/verbs.h"
#include "util/error.h"

namespace mctr::cli {

void add_export(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("export", "Export a container's filesystem as a tar archive");
  auto container = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  sub->add_option("container", *container, "Container name or ID")->required();
  sub->add_option("-o,--output", *output, "Write to a file, instead of STDOUT");
  sub->callback([&g, container, output] {
    if (output->empty() && ::isatty(STDOUT_FILENO))
      throw Error("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    build::export_container(g.root(), *container, output->empty() ? "/proc/self/fd/1" : *output);
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
