// The supervisor's I/O: the container's stdout/stderr (pipes, or a pty with
// -t) copied into its json-file log and, when the CLI is attached, to the
// CLI's terminal; the CLI's stdin to the pty; signals forwarded to the
// container's init; the terminal's size passed on. One poll(2) loop, until
// the init has exited and its output is closed.
#pragma once

#include <sys/types.h>

#include "container/init.h"
#include "container/logfile.h"
#include "util/fd.h"

namespace mctr::container {

// The container's standard streams: what its init dup2's onto 0-2, and our
// ends of them.
struct ContainerStdio {
  bool terminal = false;  // -t: the init makes a pty in its devpts and sends us the master
  UniqueFd master;        // that master, once the init has started (take_master)
  UniqueFd out_r, out_w, err_r, err_w;
  UniqueFd devnull;
  InitStdio for_init;

  // Two pipes, or with -t nothing yet (the init makes the pty, with our
  // terminal's size when attached); stdin is ours only for an attached -i.
  static ContainerStdio make(bool terminal, bool attached, bool interactive);
  // Once the init is cloned: only it writes to the pipes, so their EOF
  // tells us its output is closed.
  void close_child_ends();
  // -t, once the init has exec'd: the master it sent, sized by the init.
  // (A resize since make() waits on the signalfd, made before it, for the
  // pump.) Throws when it sent none.
  void take_master(UniqueFd sent);
};

// Block the signals the supervisor reads from a signalfd: SIGCHLD (the
// init exited), the ones it forwards (SIGTERM from `stop`...) and SIGWINCH.
UniqueFd supervisor_signalfd();

// Copy the container's output until its init `pid` has exited (reaped on
// SIGCHLD) and its output is closed. Returns the init's wait status.
int pump_until_exit(LogWriter& log, ContainerStdio& stdio, bool attached, bool interactive, int sigfd,
                    pid_t pid);

}  // namespace mctr::container
