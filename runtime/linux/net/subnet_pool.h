// Which subnet the bridge gets when nobody chose one: like Docker's
// "default-address-pools", the first subnet of a list of candidate pools that
// overlaps none of the host's routes and interface addresses. (A fixed
// 10.88.0.0/16 collided with podman's default network.)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "linux/net/ipv4.h"

namespace mctr::net {

// A pool is cut into subnets of prefix length `size`: {172.17.0.0/16, 16}
// is the one subnet 172.17.0.0/16; {192.168.0.0/16, 20} is 16 subnets /20.
struct AddressPool {
  Subnet base;
  int size = 16;
};

// Docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20 pieces.
std::vector<AddressPool> default_address_pools();

// The first subnet, pool by pool and in address order, that overlaps nothing
// in `in_use`; nullopt when every candidate is taken.
std::optional<Subnet> first_free_subnet(const std::vector<AddressPool>& pools,
                                        const std::vector<Subnet>& in_use);

// The host-wide settings file, Docker's daemon.json in spirit
// (/etc/minictr/daemon.json, or $MINICTR_CONFIG):
//   {"bip": "10.99.0.1/16", "default-address-pools": [{"base": "172.80.0.0/12", "size": 24}]}
// "bip" is the bridge's address with its prefix (as Docker's); both keys are optional.
struct NetworkSettings {
  std::string subnet;              // from "bip", as a subnet ("10.99.0.0/16"); "" = choose one
  std::vector<AddressPool> pools;  // empty = default_address_pools()
};
std::filesystem::path settings_file();
// Missing file: defaults. A bad file: mctr::Error naming the file and key.
NetworkSettings read_network_settings(const std::filesystem::path& file);
NetworkSettings parse_network_settings(const std::string& json_text, const std::string& where);

}  // namespace mctr::net
