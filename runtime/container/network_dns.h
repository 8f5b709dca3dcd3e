// The name server of each user network (linux/net/dns_server.h) as a
// process of its own: started by the first container that attaches, gone a
// few seconds after the last one left, or when the network is removed.
// Its lock, pid, log and control socket live in the network's host state
// directory (Network::host_state_dir): dns.lock is held by the running
// server, so two containers starting at once never start two; dns.sock
// takes each container's 127.0.0.11 socket (SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <string>

#include "container/networks.h"

namespace mctr::container {

// Start `n`'s server unless one runs. false when it could not be started
// (the reason is in dns.log).
bool start_network_dns(const NetworkDef& n);

// Docker's embedded DNS for container `id` (its init is `pid`) on user
// network `n`: a socket on 127.0.0.11:53 made in the container's network
// namespace and handed to `n`'s server, which answers there from now on.
// Returns the address for its resolv.conf, or "" when no server could be
// started: the container then uses the host's name servers.
std::string serve_container_dns(const NetworkDef& n, const std::string& id, pid_t pid);

// `n`'s server closes container `id`'s socket, if it has one (`network
// disconnect`: another network's server may take over). Never throws.
void stop_container_dns(const NetworkDef& n, const std::string& id) noexcept;

// The name server for container `id` on `network_mode`: serve_container_dns
// of a user network, "" for the default bridge (Docker's has no DNS of its own).
std::string network_name_server(const Store& store, const NetworkMode& network_mode, const std::string& id,
                                pid_t pid);

// Stop `n`'s server if it runs (network rm), and wait until it has.
void stop_network_dns(const NetworkDef& n);

// The server itself (`minictr network dns-serve`, started by
// start_network_dns): tells "ok" or the error on stdout, then serves until
// the network has had no container for a while. Returns the exit code.
int serve_network_dns(const std::string& bridge);

}  // namespace mctr::container
