#include "container/network_container.h"

#include <fcntl.h>
#include <sched.h>

#include "container/networks.h"
#include "linux/proc.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::container {

NetworkMode joined_network_mode(const Store& store, const NetworkMode& requested, bool publishes_ports,
                                const std::string& hostname) {
  const std::string& ref = requested.target;
  if (ref.empty())
    throw Error("invalid network mode \"" + requested.str() + "\": container: needs a name or id");
  if (publishes_ports)
    throw Error("conflicting options: port publishing and the container type network mode");
  if (!hostname.empty()) throw Error("conflicting options: hostname and the network mode");
  std::string id;
  try {
    id = store.resolve(ref);
  } catch (const Error&) {
    throw Error("No such container: " + ref);
  }
  // Joining a container that itself joins another: its namespace is that one's.
  const NetworkMode mode = store.config(id).network_mode;
  return mode.joins_container() ? mode : NetworkMode{NetworkMode::Kind::kContainer, id};
}

std::string joined_hostname(const Store& store, const NetworkMode& mode) {
  return store.config(mode.target).hostname;
}

void enter_joined_network(const Store& store, const Config& cfg) {
  if (!cfg.network_mode.joins_container()) return;
  const std::string& id = cfg.network_mode.target;
  std::string name = id.substr(0, 12);
  State s;
  try {
    name = store.config(id).name;
    s = observed_state(store, id);
  } catch (const Error&) {
    throw Error("cannot join network of container " + name + ": it no longer exists");
  }
  auto not_running = [&] {
    return Error("cannot join network namespace of a non running container: container " + name + " is " +
                 (s.status == Status::kRunning ? "restarting" : std::string(to_string(s.status))));
  };
  if (s.status != Status::kRunning || s.restarting || !linux_proc::alive(s.pid, s.pid_start))
    throw not_running();
  const std::string path = "/proc/" + std::to_string(s.pid) + "/ns/net";
  UniqueFd ns(check_sys(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path));
  // The pid could have been reused between the check and the open.
  if (!linux_proc::alive(s.pid, s.pid_start)) throw not_running();
  // Only this thread moves: the clone that follows inherits its namespace.
  check_sys(::setns(ns.get(), CLONE_NEWNET), "setns(CLONE_NEWNET)", path);
}

std::filesystem::path etc_file_path(const std::filesystem::path& dir, const Config& cfg,
                                    const std::string& name) {
  if (!cfg.network_mode.joins_container() || name == "hostname") return dir / name;
  return dir.parent_path() / cfg.network_mode.target / name;
}

}  // namespace mctr::container
