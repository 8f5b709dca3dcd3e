#include "container/top.h"

#include <set>
#include <sstream>

#include "container/lifecycle.h"
#include "linux/cgroup/manager.h"
#include "util/error.h"
#include "util/subprocess.h"

namespace mctr::container {

namespace {

// Which column of ps's header is PID.
size_t pid_column(const std::string& header) {
  std::istringstream in(header);
  std::string word;
  for (size_t i = 0; in >> word; ++i)
    if (word == "PID") return i;
  throw Error("ps printed no PID column (header: " + header + ")");
}

}  // namespace

std::vector<std::string> top_lines(const Store& store, const std::string& id,
                                   const std::vector<std::string>& ps_args) {
  if (observed_state(store, id).status != Status::kRunning)
    throw Error("container " + id.substr(0, 12) + " is not running");
  std::set<std::string> in_container;
  for (pid_t p : cgroup::make_manager(id)->pids()) in_container.insert(std::to_string(p));
  std::vector<std::string> argv{"ps"};
  if (ps_args.empty()) argv.push_back("-ef");
  argv.insert(argv.end(), ps_args.begin(), ps_args.end());
  ProcessResult r = run_process(argv);
  if (r.status != 0) throw Error("ps " + (ps_args.empty() ? std::string("-ef") : ps_args[0]) + ": " + r.err);
  std::istringstream rows(r.out);
  std::string header, line;
  std::getline(rows, header);
  const size_t col = pid_column(header);
  std::vector<std::string> out{header};
  while (std::getline(rows, line)) {
    std::istringstream fields(line);
    std::string f;
    for (size_t i = 0; i <= col && fields >> f;) ++i;
    if (in_container.count(f)) out.push_back(line);
  }
  return out;
}

}  // namespace mctr::container
