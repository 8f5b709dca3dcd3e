// Published host ports held open while their container runs, as Docker's
// userland proxy holds them: a host program that binds the port later gets
// EADDRINUSE instead of a port that silently never sees local traffic (the
// DNAT rules send that to the container).
#pragma once

#include <cstdint>

#include "linux/net/network.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::net {

// The host port is bound by someone else (a host program or another container).
class PortInUse : public Error {
 public:
  using Error::Error;
};

struct HeldPort {
  UniqueFd socket;  // close it to free the port
  uint16_t port = 0;
};

// Bind a socket to the mapping's host_ip:host_port ("" = all addresses,
// port 0 = one the kernel picks). Throws PortInUse with Docker's message
// ("Bind for 0.0.0.0:8080 failed: port is already allocated") when the port
// is taken, mctr::Error when host_ip is not an address of this host.
HeldPort hold_host_port(const PortMapping& p);
// For TCP, listen on a held port, after its DNAT rule exists: from then on
// every later bind of it fails, also one with SO_REUSEADDR. (Listening
// earlier, a connection made before the rule would be queued on this socket,
// never accepted, and hang.) Throws PortInUse as hold_host_port does. UDP:
// nothing to do, the bind is enough.
void listen_on_held_port(const UniqueFd& socket, const PortMapping& p);

// Docker's message for a host port that is taken.
std::string port_allocated_message(const PortMapping& p);

}  // namespace mctr::net
