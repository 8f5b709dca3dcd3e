// `network connect` / `network disconnect` of a running container, as
// Docker: one more interface (eth1, eth2, ...) in the container's network
// namespace, on another network's bridge, with an address leased from that
// network (so its name server and the peers' /etc/hosts know the container
// there). What connect made is recorded in <container dir>/connected.json and
// undone by disconnect. As in Docker the connection belongs to the container,
// not to one run: its exit detaches the interface (release_connected_networks)
// and its next start attaches it again (reconnect_networks); a stopped
// container can be connected, and is attached when it starts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "container/state.h"

namespace mctr::container {

struct ConnectedNetwork {
  std::string network;         // its name
  std::string ifname;          // "eth1"
  net::Attachment attachment;  // while attached
  std::vector<std::string> aliases;
  bool attached = false;  // false while the container does not run
};

// Throws Error (exit 1, as Docker's daemon errors) for a network it is on
// already, host/none/container: modes.
ConnectedNetwork connect_network(const Store& store, const std::string& network_ref,
                                 const std::string& container_ref, const std::vector<std::string>& aliases);
// `force`: no error when the container is gone or not connected to it.
void disconnect_network(const Store& store, const std::string& network_ref, const std::string& container_ref,
                        bool force);
std::vector<ConnectedNetwork> connected_networks(const Store& store, const std::string& id);
// Detach every connected network, keeping the connections for the next
// start; idempotent. Called after the container's init is gone (its
// teardown, a reclaim before `rm` or `start`).
void release_connected_networks(const Store& store, const std::string& id);
// At a start, once the container's own network is attached: its connected
// networks again, into the namespace of `pid`. Throws when one of them is gone.
void reconnect_networks(const Store& store, const Config& cfg, pid_t pid);
// inspect: NetworkSettings.Networks gets one entry per connected network.
void add_connected_networks(nlohmann::json& networks, const Store& store, const std::string& id);

}  // namespace mctr::container
