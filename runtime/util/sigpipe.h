// A write to a pipe whose reader exited raises SIGPIPE, which kills the
// writer by default. While a SigpipeBlocked lives, SIGPIPE is blocked in
// this thread, so the write fails with EPIPE instead; a SIGPIPE our writes
// raised meanwhile is taken back before the mask is restored.
#pragma once

#include <signal.h>

namespace mctr {

class SigpipeBlocked {
 public:
  SigpipeBlocked();
  ~SigpipeBlocked();
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_, old_;
};

}  // namespace mctr
