#include "util/sigpipe.h"

#include <pthread.h>

#include <ctime>

namespace mctr {

SigpipeBlocked::SigpipeBlocked() {
  sigemptyset(&pipe_);
  sigaddset(&pipe_, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
}

SigpipeBlocked::~SigpipeBlocked() {
  // A write's SIGPIPE is sent to the thread that wrote: still pending here.
  const timespec zero{};
  while (::sigtimedwait(&pipe_, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace mctr
