// Pseudo-terminals for `-t`: the supervisor keeps the master, the container
// gets the slave as its controlling terminal and stdin/stdout/stderr.
#pragma once

#include <string>

#include "util/fd.h"

namespace mctr::pty {

struct Pty {
  UniqueFd master;
  std::string slave_path;  // /dev/pts/N
};

// posix_openpt + grantpt + unlockpt; copies the window size of `size_from`
// (a terminal fd, or -1).
Pty open_pty(int size_from);

// In the child: new session, the slave as controlling terminal and fds 0-2.
void make_controlling_terminal(const std::string& slave_path);

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
