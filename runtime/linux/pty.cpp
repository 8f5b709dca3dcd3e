#include "linux/pty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "linux/rootfs.h"
#include "util/error.h"
#include "util/explain.h"

namespace mctr::pty {

namespace {

struct Pty {
  UniqueFd master;
  std::string slave_path;  // /dev/pts/N
};

// posix_openpt + grantpt + unlockpt, on the devpts of the root we are in.
Pty open_pty() {
  Pty p;
  p.master.reset(check_sys(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), "posix_openpt", "/dev/ptmx"));
  check_sys(::grantpt(p.master.get()), "grantpt");
  check_sys(::unlockpt(p.master.get()), "unlockpt");
  char name[64];
  if (::ptsname_r(p.master.get(), name, sizeof name) != 0) throw_sys("ptsname_r");
  p.slave_path = name;
  return p;
}

}  // namespace

void make_console(const std::function<void(int master)>& send_master, const winsize* size,
                  bool bind_console) {
  explain::step(explain::Kind::kNotReplayable, "open(2)",
                "# open /dev/ptmx (the container's devpts), send the pty's master out (SCM_RIGHTS), bind "
                "the slave on /dev/console, make it our controlling terminal and fds 0-2");
  Pty p = open_pty();
  if (size) check_sys(::ioctl(p.master.get(), TIOCSWINSZ, size), "ioctl(TIOCSWINSZ)", p.slave_path);
  send_master(p.master.get());
  p.master.reset();
  if (bind_console) rootfs::bind_console("/", p.slave_path);
  UniqueFd slave(check_sys(::open(p.slave_path.c_str(), O_RDWR | O_CLOEXEC), "open", p.slave_path));
  check_sys(::ioctl(slave.get(), TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", p.slave_path);
  for (int fd = 0; fd < 3; ++fd) check_sys(::dup2(slave.get(), fd), "dup2", p.slave_path);
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
