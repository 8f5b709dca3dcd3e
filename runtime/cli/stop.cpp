// minictr stop [-t N] CONTAINER...   and   minictr kill [-s SIG] CONTAINER...
#include <csignal>
#include <iostream>

#include "cli/verbs.h"
#include "container/lifecycle.h"

namespace mctr::cli {

// Run `action` on each container; report failures per container like Docker
// and exit 1 if any failed.
template <typename F>
static int for_each_container(const std::vector<std::string>& refs, const container::Store& store, F action) {
  int rc = 0;
  for (const auto& ref : refs) {
    try {
      std::string id = store.resolve(ref);
      action(id);
      std::cout << ref << "\n";
    } catch (const Error& e) {
      std::cerr << "minictr: error: " << e.what() << "\n";
      rc = 1;
    }
  }
  return rc;
}

void add_stop(CLI::App& app, Globals& g) {
  auto* sub =
      app.add_subcommand("stop", "Stop running containers (SIGTERM, then SIGKILL after a grace period)");
  auto timeout = std::make_shared<int>(10);
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("-t,--time", *timeout, "Seconds to wait before killing the container");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, timeout, refs] {
    container::Store store(g.root());
    g.exit_code = for_each_container(
        *refs, store, [&](const std::string& id) { container::stop_container(store, id, *timeout); });
  });
}

void add_kill(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("kill", "Send a signal to running containers (default SIGKILL)");
  auto sig = std::make_shared<std::string>("KILL");
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("-s,--signal", *sig, "Signal to send");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, sig, refs] {
    int signo = container::parse_signal(*sig);
    container::Store store(g.root());
    g.exit_code = for_each_container(
        *refs, store, [&](const std::string& id) { container::kill_container(store, id, signo); });
  });
}

void add_rm(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("rm", "Remove containers");
  auto force = std::make_shared<bool>(false);
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
  sub->add_option("containers", *refs, "Containers")->required();
  sub->callback([&g, force, refs] {
    container::Store store(g.root());
    g.exit_code = for_each_container(
        *refs, store, [&](const std::string& id) { container::remove_container(store, id, *force); });
  });
}

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
      auto s = container::observed_state(store, id);
      if (s.status == "running") {
        std::cout << ref << "\n";
        continue;
      }
      // The last run's teardown, or what a supervisor that died left of it.
      if (!container::wait_not_running(store, id, 10000))
        throw Error("container " + id.substr(0, 12) + " is still stopping");
      {
        auto lock = store.lock(id);
        container::reclaim_leftovers(store, id);
      }
      int code = start_and_follow(g.root(), id, *attach, store.config(id).tty, false);
      if (*attach) {
        rc = code;
      } else if (code != 0) {
        rc = code;
      } else {
        std::cout << ref << "\n";
      }
    }
    g.exit_code = rc;
  });
}

}  // namespace mctr::cli
