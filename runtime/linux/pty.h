// Pseudo-terminals for `-t`: made in the container's own devpts, as runc
// does; the supervisor (or whoever gave minictr-runc a --console-socket)
// keeps the master, the container gets the slave as its controlling
// terminal and stdin/stdout/stderr.
#pragma once

#include <sys/ioctl.h>

#include <functional>
#include <string>

#include "util/fd.h"

namespace mctr::pty {

// In the container, after pivot_root: a pty on its devpts (the /dev/ptmx
// there, so the command's terminal is its /dev/pts/0 as with Docker), sized
// `size` when given. The master goes to `send_master` (over a socket: the
// caller closes our copy after it); the slave is bound on /dev/console (when
// `bind_console`) and becomes the controlling terminal of our session (we
// must lead one: setsid first) and fds 0-2.
void make_console(const std::function<void(int master)>& send_master, const winsize* size, bool bind_console);

// Put a terminal in raw mode (no echo, no line editing, no signals from ^C:
// they go to the container through the pty). Restores on destruction.
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_;
  bool active_ = false;
  char saved_[128];  // struct termios, kept opaque here
};

}  // namespace mctr::pty
