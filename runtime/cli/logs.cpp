// minictr logs [-f] [--tail N] [-t] CONTAINER
#include <unistd.h>

#include <cstdio>

#include "cli/verbs.h"
#include "container/logfile.h"
#include "container/state.h"

namespace mctr::cli {

void add_logs(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("logs", "Fetch the logs of a container");
  struct F {
    bool follow = false, timestamps = false;
    std::string tail = "all", ref;
  };
  auto f = std::make_shared<F>();
  sub->add_flag("-f,--follow", f->follow, "Follow log output");
  sub->add_option("-n,--tail", f->tail, "Number of lines to show from the end of the logs (default all)");
  sub->add_flag("-t,--timestamps", f->timestamps, "Show timestamps");
  sub->add_option("container", f->ref, "Container")->required();
  sub->callback([&g, f] {
    container::Store store(g.root());
    std::string id = store.resolve(f->ref);
    long tail = -1;
    if (f->tail != "all") {
      try {
        tail = std::stol(f->tail);
      } catch (...) {
        throw Error("invalid --tail value: " + f->tail);
      }
    }
    auto running = [&] {
      try {
        return container::observed_state(store, id).status == container::Status::kRunning;
      } catch (const Error&) {
        return false;
      }
    };
    container::read_log(store.log_path(id), tail, f->follow, running, [&](const container::LogLine& l) {
      FILE* out = l.stream == "stderr" ? stderr : stdout;
      if (f->timestamps) std::fprintf(out, "%s ", l.time.c_str());
      std::fwrite(l.text.data(), 1, l.text.size(), out);
      std::fflush(out);
    });
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
