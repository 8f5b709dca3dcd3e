#include "linux/pty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "util/error.h"

namespace mctr::pty {

Pty open_pty(int size_from) {
  Pty p;
  p.master.reset(check_sys(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), "posix_openpt", "/dev/ptmx"));
  check_sys(::grantpt(p.master.get()), "grantpt");
  check_sys(::unlockpt(p.master.get()), "unlockpt");
  char name[64];
  if (::ptsname_r(p.master.get(), name, sizeof name) != 0) throw_sys("ptsname_r");
  p.slave_path = name;
  winsize ws;
  if (size_from >= 0 && ::ioctl(size_from, TIOCGWINSZ, &ws) == 0) ::ioctl(p.master.get(), TIOCSWINSZ, &ws);
  return p;
}

void make_controlling_terminal(const std::string& slave_path) {
  check_sys(::setsid(), "setsid");
  int fd = check_sys(::open(slave_path.c_str(), O_RDWR), "open", slave_path);
  check_sys(::ioctl(fd, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", slave_path);
  for (int i = 0; i < 3; ++i) check_sys(::dup2(fd, i), "dup2", slave_path);
  if (fd > 2) ::close(fd);
}

static_assert(sizeof(termios) <= 128, "termios buffer too small");

RawMode::RawMode(int fd) : fd_(fd) {
  termios t;
  if (!::isatty(fd) || ::tcgetattr(fd, &t) < 0) return;
  std::memcpy(saved_, &t, sizeof t);
  ::cfmakeraw(&t);
  if (::tcsetattr(fd, TCSANOW, &t) == 0) active_ = true;
}

RawMode::~RawMode() {
  if (!active_) return;
  termios t;
  std::memcpy(&t, saved_, sizeof t);
  ::tcsetattr(fd_, TCSANOW, &t);
}

}  // namespace mctr::pty
