#include "runc/start.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "runc/hooks.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::runc {

namespace {

// Read the init's "0" from the fifo. O_NONBLOCK: the open itself never
// waits (an init that died would leave it waiting forever); the blocked
// writer wakes up because a reader is there now.
void release_init(const Store& store, const ContainerState& s) {
  const auto fifo = store.fifo(s.id);
  UniqueFd r(check_sys(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC), "open", fifo));
  for (;;) {
    pollfd p{r.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) throw_sys("poll", fifo);
    if (n > 0) {
      char c = 0;
      ssize_t got = ::read(r.get(), &c, 1);
      if (got == 1) break;
      if (got < 0 && errno == EAGAIN) continue;
      throw Error("container init closed the exec fifo without starting");
    }
    if (process_start_time(s.init_pid) != s.init_start_time)
      throw Error("container init is gone: cannot start");
  }
  fs::unlink_deferred(fifo);
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
