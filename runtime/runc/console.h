// process.terminal with --console-socket, as runc does it: the caller
// (conmon, containerd's shim) listens on a unix socket; the runtime makes
// the pty inside the container (its own devpts), sends the master end over
// that socket (SCM_RIGHTS) and keeps only the slave as the process's
// controlling terminal and stdio. The caller then owns the terminal: it
// reads the container's output from the master and writes its input there.
#pragma once

#include <string>

#include "oci/spec.h"
#include "util/fd.h"

namespace mctr::runc {

// connect(2) to the socket at `path` (done on the host, before any namespace).
UniqueFd connect_console_socket(const std::string& path);

// In the container, after pivot_root: open a pty on its /dev/ptmx, size it
// (process.consoleSize), send the master over `socket`, bind the slave on
// /dev/console (when `bind_console`), and make it the controlling terminal
// of our session (we must lead one: setsid first) and fds 0-2.
void setup_console(int socket, const oci::Process& process, bool bind_console);

}  // namespace mctr::runc
