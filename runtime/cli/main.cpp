// minictr: a small, real container runtime. This file only wires the verbs.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/verbs.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/paths.h"

namespace mctr::cli {

std::filesystem::path Globals::root() const { return resolve_root(root_flag); }

void add_version(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("version", "Show the minictr version");
  sub->callback([&g] {
    std::cout << "minictr version 0.1.0\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli

int main(int argc, char** argv) {
  using namespace mctr::cli;
  CLI::App app{"minictr: a small container runtime that shows what Docker does underneath"};
  app.require_subcommand(1);
  app.fallthrough();
  Globals g;
  app.add_option("--root", g.root_flag, "State directory (default /var/lib/minictr, or $MINICTR_ROOT)");
  app.add_flag("--explain", g.explain,
               "Print every kernel operation as a shell command you can replay (run, exec, stop, rm, ...)");
  app.parse_complete_callback([&g] {
    // A copy of stderr above 2, close-on-exec: the container's init inherits
    // it for its own steps but never hands it to the user's command.
    if (g.explain) mctr::explain::enable(::fcntl(2, F_DUPFD_CLOEXEC, 3));
  });

  add_version(app, g);
  add_load(app, g);
  add_images(app, g);
  add_rmi(app, g);
  add_image(app, g);
  add_run(app, g);
  add_create(app, g);
  add_start(app, g);
  add_ps(app, g);
  add_logs(app, g);
  add_stop(app, g);
  add_kill(app, g);
  add_rm(app, g);
  add_inspect(app, g);
  add_exec(app, g);
  add_cp(app, g);
  add_volume(app, g);
  add_stats(app, g);
  add_update(app, g);
  add_system(app, g);
  add_network(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "minictr: %s\nSee 'minictr --help'.\n", e.what());
    return mctr::kExitRuntimeError;
  } catch (const mctr::Error& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    return mctr::kExitRuntimeError;
  }
  return g.exit_code;
}
