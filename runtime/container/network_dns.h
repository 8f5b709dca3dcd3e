// The name server of each user network (linux/net/dns_server.h) as a
// process of its own: started by the first container that attaches, gone a
// few seconds after the last one left, or when the network is removed.
// Its lock, pid and log live in the network's host state directory
// (Network::host_state_dir): dns.lock is held by the running server, so two
// containers starting at once never start two.
#pragma once

#include <string>

#include "container/networks.h"

namespace mctr::container {

// The address a container on network `n` uses as its name server: `n`'s
// gateway, once a server answers there (started now unless one runs); ""
// when none could be started (the reason is in dns.log), and the container
// then uses the host's name servers as on the default bridge.
std::string start_network_dns(const NetworkDef& n);

// The name server for a container on `network_mode`: start_network_dns of
// a user network, "" for the default bridge (Docker's has no DNS of its own).
std::string network_name_server(const Store& store, const std::string& network_mode);

// Stop `n`'s server if it runs (network rm), and wait until it has.
void stop_network_dns(const NetworkDef& n);

// The server itself (`minictr network dns-serve`, started by
// start_network_dns): tells "ok" or the error on stdout, then serves until
// the network has had no container for a while. Returns the exit code.
int serve_network_dns(const std::string& bridge, const std::string& listen_ip);

}  // namespace mctr::container
