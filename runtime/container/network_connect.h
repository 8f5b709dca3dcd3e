// `network connect` / `network disconnect` of a running container, as
// Docker: one more interface (eth1, eth2, ...) in the container's network
// namespace, on another network's bridge, with an address leased from that
// network (so its name server and the peers' /etc/hosts know the container
// there). What connect made is recorded in <container dir>/connected.json,
// and undone by disconnect, and when the container exits or is removed
// (release_connected_networks): the next run starts on its own network only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "container/state.h"

namespace mctr::container {

struct ConnectedNetwork {
  std::string network;  // its name
  std::string ifname;   // "eth1"
  net::Attachment attachment;
  std::vector<std::string> aliases;
};

// Throws Error (exit 1, as Docker's daemon errors) for a container that is
// not running, a network it is on already, host/none/container: modes.
ConnectedNetwork connect_network(const Store& store, const std::string& network_ref,
                                 const std::string& container_ref, const std::vector<std::string>& aliases);
// `force`: no error when the container is gone or not connected to it.
void disconnect_network(const Store& store, const std::string& network_ref, const std::string& container_ref,
                        bool force);
std::vector<ConnectedNetwork> connected_networks(const Store& store, const std::string& id);
// Detach every connected network and forget them; idempotent. Called after
// the container's init is gone (its teardown, `rm`).
void release_connected_networks(const Store& store, const std::string& id);
// inspect: NetworkSettings.Networks gets one entry per connected network.
void add_connected_networks(nlohmann::json& networks, const Store& store, const std::string& id);

}  // namespace mctr::container
