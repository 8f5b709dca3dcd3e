#include "runc/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "linux/namespaces.h"
#include "linux/pty.h"
#include "linux/rootfs.h"
#include "util/error.h"

namespace mctr::runc {

UniqueFd connect_console_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("console socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd s(check_sys(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket", path));
  check_sys(::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), "connect", path);
  return s;
}

void setup_console(int socket, const oci::Process& process, bool bind_console) {
  pty::Pty p = pty::open_pty(-1);
  if (process.console_size) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(process.console_size->height);
    ws.ws_col = static_cast<unsigned short>(process.console_size->width);
    check_sys(::ioctl(p.master.get(), TIOCSWINSZ, &ws), "ioctl(TIOCSWINSZ)", p.slave_path);
  }
  // runc names the master "/dev/ptmx" in the message; callers only take the fd.
  linux_ns::SyncChannel::send_with_fd(socket, "/dev/ptmx", p.master.get());
  p.master.reset();
  if (bind_console) rootfs::bind_console("/", p.slave_path);
  // We lead a session of our own already (setsid in the init and in exec):
  // the slave becomes its controlling terminal, and fds 0-2.
  UniqueFd slave(check_sys(::open(p.slave_path.c_str(), O_RDWR | O_CLOEXEC), "open", p.slave_path));
  check_sys(::ioctl(slave.get(), TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", p.slave_path);
  for (int fd = 0; fd < 3; ++fd) check_sys(::dup2(slave.get(), fd), "dup2", p.slave_path);
}

}  // namespace mctr::runc
