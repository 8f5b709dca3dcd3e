#include "runc/start.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "runc/hooks.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::runc {

namespace {

// Read the init's "0" from the fifo. O_NONBLOCK: the open itself never
// waits (an init that died would leave it waiting forever); the blocked
// writer wakes up because a reader is there now. Then wait for EOF: the
// init's end is close-on-exec, so EOF means the process has exec'd. runc
// returns after the "0"; waiting for the exec too means that a `kill` right
// after `start` reaches the container's program, not the init on its way to
// it (a PID namespace's init ignores signals it has no handler for).
void release_init(const Store& store, const ContainerState& s) {
  const auto fifo = store.fifo(s.id);
  UniqueFd r(check_sys(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC), "open", fifo));
  bool released = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    pollfd p{r.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) throw_sys("poll", fifo);
    if (n > 0) {
      char c = 0;
      ssize_t got = ::read(r.get(), &c, 1);
      if (got == 1) {
        if (!released) fs::unlink_deferred(fifo);
        released = true;
        continue;
      }
      if (got < 0 && errno == EAGAIN) continue;
      if (got == 0 && released) return;  // exec'd (or died: `state` says which)
      throw Error("container init closed the exec fifo without starting");
    }
    if (process_start_time(s.init_pid) != s.init_start_time) {
      if (released) return;
      throw Error("container init is gone: cannot start");
    }
    if (released && std::chrono::steady_clock::now() > deadline) return;  // slow startContainer hooks
  }
}

}  // namespace

void start_container(const Store& store, const std::string& id) {
  ContainerState s = store.load(id);
  Status status = current_status(store, s);
  switch (status) {
    case Status::kCreated:
      break;
    case Status::kStopped:
      throw Error("cannot start a container that has stopped");
    case Status::kRunning:
    case Status::kPaused:
      throw Error("cannot start an already running container");
    case Status::kCreating:
      throw Error("cannot start a container that is being created");
  }
  release_init(store, s);
  if (s.spec.hooks)
    run_hooks_best_effort(s.spec.hooks->poststart, state_json(s, Status::kRunning).dump(), "poststart");
}

}  // namespace mctr::runc
