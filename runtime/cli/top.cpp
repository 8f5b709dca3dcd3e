// minictr top CONTAINER [ps OPTIONS]: the container's processes, as docker top
// shows them: the host's ps (default -ef) over every process, keeping the
// rows whose PID is in the container's cgroup. The PIDs are the host's.
#include <iostream>
#include <set>
#include <sstream>

#include "cli/verbs.h"
#include "container/state.h"
#include "linux/cgroup/manager.h"
#include "util/subprocess.h"

namespace mctr::cli {

// Which column of ps's header is PID.
static size_t pid_column(const std::string& header) {
  std::istringstream in(header);
  std::string word;
  for (size_t i = 0; in >> word; ++i)
    if (word == "PID") return i;
  throw Error("ps printed no PID column (header: " + header + ")");
}

void add_top(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("top", "Display the running processes of a container");
  auto ref = std::make_shared<std::string>();
  auto ps_args = std::make_shared<std::vector<std::string>>();
  sub->add_option("container", *ref, "Container name or ID")->required();
  sub->add_option("ps_options", *ps_args, "Options for ps (default -ef)");
  // Everything after the container is ps's, options included (-o pid,comm).
  sub->positionals_at_end();
  sub->callback([&g, ref, ps_args] {
    container::Store store(g.root());
    const std::string id = store.resolve(*ref);
    if (container::observed_state(store, id).status != "running")
      throw Error("container " + *ref + " is not running");
    const std::vector<pid_t> pids = cgroup::make_manager(id)->pids();
    const std::set<std::string> in_container = [&] {
      std::set<std::string> s;
      for (pid_t p : pids) s.insert(std::to_string(p));
      return s;
    }();
    std::vector<std::string> argv{"ps"};
    if (ps_args->empty()) argv.push_back("-ef");
    argv.insert(argv.end(), ps_args->begin(), ps_args->end());
    ProcessResult r = run_process(argv);
    if (r.status != 0)
      throw Error("ps " + (ps_args->empty() ? std::string("-ef") : (*ps_args)[0]) + ": " + r.err);
    std::istringstream lines(r.out);
    std::string header, line;
    std::getline(lines, header);
    const size_t col = pid_column(header);
    std::cout << header << "\n";
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string f;
      for (size_t i = 0; i <= col && fields >> f;) ++i;
      if (in_container.count(f)) std::cout << line << "\n";
    }
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
