#include "linux/loopback.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"

namespace mctr::linux_ns {

void bring_up_loopback() {
  explain::step("ioctl(2)", "ip link set lo up   # SIOCSIFFLAGS IFF_UP");
  UniqueFd s(check_sys(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  check_sys(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), "ioctl(SIOCGIFFLAGS)", "lo");
  if (ifr.ifr_flags & IFF_UP) return;  // made up already (new_network_namespace)
  ifr.ifr_flags |= IFF_UP;
  check_sys(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), "ioctl(SIOCSIFFLAGS)", "lo");
}

}  // namespace mctr::linux_ns
