#include "runc/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "linux/namespaces.h"
#include "linux/pty.h"
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
  winsize ws{};
  if (process.console_size) {
    ws.ws_row = static_cast<unsigned short>(process.console_size->height);
    ws.ws_col = static_cast<unsigned short>(process.console_size->width);
  }
  // We lead a session of our own already (setsid in the init and in exec).
  // runc names the master "/dev/ptmx" in the message; callers only take the fd.
  pty::make_console(
      [socket](int master) { linux_ns::SyncChannel::send_with_fd(socket, "/dev/ptmx", master); },
      process.console_size ? &ws : nullptr, bind_console);
}

}  // namespace mctr::runc
