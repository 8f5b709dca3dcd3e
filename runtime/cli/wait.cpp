// minictr wait CONTAINER...: block until each container stops, then print its
// exit code (docker wait). A container that was never started is waited for
// until it has run and stopped.
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/verbs.h"
#include "container/state.h"

namespace mctr::cli {

// The exit code once the container has exited; polls its observed state
// (the supervisor writes it, see exit_record.h), so a container whose
// supervisor died is not waited for forever.
static int wait_for_exit(const container::Store& store, const std::string& id) {
  for (;;) {
    const container::State s = container::observed_state(store, id);
    if (s.status == container::Status::kExited) return s.exit_code;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void add_wait(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("wait", "Block until containers stop, then print their exit codes");
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("containers", *refs, "Container names or IDs")->required();
  sub->callback([&g, refs] {
    container::Store store(g.root());
    int rc = 0;
    for (const auto& ref : *refs) {
      try {
        std::cout << wait_for_exit(store, store.resolve(ref)) << std::endl;
      } catch (const Error& e) {  // no such container, or removed while we waited
        std::cerr << "minictr: error: " << e.what() << "\n";
        rc = 1;
      }
    }
    g.exit_code = rc;
  });
}

}  // namespace mctr::cli
