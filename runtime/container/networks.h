// User-defined networks (`network create NAME`), Docker's model: each is a
// bridge of its own ("br-" + 12 hex of its id) with its own subnet and nft
// table, made at create and removed at rm. Containers join one with
// `run --network NAME` and find each other by name (their /etc/hosts).
// The built-in ones: "bridge" (the default bridge, minictr0), "host", "none".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "container/state.h"
#include "linux/net/network.h"

namespace mctr::container {

struct NetworkDef {
  std::string name;
  std::string id;  // 64 hex digits
  std::string bridge;
  std::string subnet;  // "172.18.0.0/16"
  std::string table;
  std::string created;  // RFC 3339
};

bool is_builtin_network(const std::string& name);

class Networks {
 public:
  explicit Networks(const Store& store);
  // Throws for a bad or taken name, a bad or taken subnet (125).
  NetworkDef create(const std::string& name, const std::string& subnet);
  std::vector<NetworkDef> list() const;
  // By name, full id or unique id prefix; nullopt if none.
  std::optional<NetworkDef> find(const std::string& ref) const;
  // The name of the user network `ref` names; throws "network X not found" (125).
  std::string name_of(const std::string& ref) const;
  // Removes bridge, table and record; refuses while a container is attached
  // or refers to it ("has active endpoints", as Docker).
  void remove(const std::string& ref);
  // User networks no container refers to (Docker's `network prune`); returns their names.
  std::vector<std::string> prune();
  // The bridge, subnet and table for a network: the default bridge's
  // settings for "bridge", the network's own for a user network. Throws
  // "network X not found" for an unknown one.
  net::Network::Options options_for(const std::string& network) const;
  // A Network object for this store's containers on `network` ("bridge" or a user network's name).
  net::Network open(const std::string& network) const;

 private:
  std::vector<std::string> containers_using(const std::string& name) const;
  const Store& store_;
  std::filesystem::path dir_;  // <root>/networks
};

}  // namespace mctr::container
