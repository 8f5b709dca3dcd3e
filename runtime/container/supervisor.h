// The per-container supervisor (like conmon / containerd-shim): a small
// process that starts the container's init with clone(), sets up its cgroup
// and network from the outside, writes its output to the json-file log,
// reaps it, records the exit code and tears the cgroup and network down.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "container/config.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/parallel.h"

namespace mctr::container {

// What the supervisor tells the CLI over the status socket.
struct StartResult {
  bool ok = false;
  pid_t pid = 0;      // the container's init (host pid)
  int exit_code = 0;  // when !ok
  std::string error;  // when !ok
};

// main() of the exec'd supervisor, whose argv[0] is "minictr-shim".
[[noreturn]] void supervisor_process_main(int argc, char** argv);

// The supervisor process could not be started (posix_spawn refused): nothing
// runs the container (`run` removes the one it created).
class SupervisorNotStarted : public Error {
 public:
  using Error::Error;
};

class SupervisorHandle {
 public:
  // Start the supervisor (fork, then exec of a read-only copy of this
  // binary: see supervisor_client.cpp) before the container exists, then
  // tell it which container to run with start(). With `attached`, it keeps
  // our stdin/stdout/stderr and copies the container's I/O to them;
  // otherwise it detaches from them completely (its own session, /dev/null).
  // The spawn runs on a second thread, while we create the container; with
  // `make_network_namespace` (the container will ask for a network namespace
  // of its own) that thread then makes one, which start() hands to the
  // supervisor after the id (network_in_advance.h).
  static SupervisorHandle spawn(const std::filesystem::path& root, bool attached,
                                bool make_network_namespace = false);
  // `overlay`: the container's root filesystem made in advance
  // (make_overlay_in_advance), sent with the id; -1: none.
  void start(const std::string& id, int overlay = -1);
  // Both at once, for a container that exists already.
  static SupervisorHandle launch(const std::filesystem::path& root, const std::string& id, bool attached);

  // Attached runs: block the signals we forward (SIGINT, SIGTERM, ...) before
  // launch, so none is lost or kills us while the container starts.
  static void hold_signals();

  StartResult wait_started();
  // Attached mode: wait for "exited N", forwarding signals we receive to the
  // container (a second Ctrl-C kills it). Returns the exit code, or nullopt
  // if the supervisor went away without telling.
  std::optional<int> wait_exited(pid_t container_pid);

 private:
  // What the second thread made: the supervisor's pid, its network namespace.
  struct Launched {
    pid_t pid = -1;
    UniqueFd netns;
  };
  UniqueFd status_;
  pid_t supervisor_ = -1;  // known once start() took what the thread made
  bool netns_follows_ = false;
  // Held by pointer: its thread writes into it, and handles are moved.
  std::unique_ptr<InAdvance<Launched>> launching_;
};

}  // namespace mctr::container
