// nftables through the `nft` tool: minictr writes the rules as nft's own text
// and runs `nft -f -`, as Docker runs iptables. Each run is one atomic
// transaction in the kernel: all of its commands apply, or none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "linux/net/ipv4.h"
#include "linux/net/ipv6.h"
#include "linux/net/nft_netlink.h"

namespace mctr::net {

// Rules are added by running `nft`; questions and deletions go to the
// kernel directly (NftNetlink), on a socket kept for this object's life.
class Nft {
 public:
  // Run commands; throws mctr::Error carrying nft's own error text.
  void run(const std::string& commands);
  // false if the table does not exist.
  bool table_exists(const std::string& table, Family family = Family::kIp);
  NftNetlink& netlink() { return netlink_; }

 private:
  NftNetlink netlink_;
};

// minictr's table: NAT for the bridge's subnet and a `hostports` chain that
// holds one DNAT rule per published port (see nft.cpp for the why of each rule).
std::string base_table_rules(const std::string& table, const std::string& bridge, const Subnet& subnet);

// The chain that keeps containers away from the host's 127.0.0.0/8 (see
// localnet_guard_rules); ensure_table adds it to a table made without it.
inline constexpr const char* kLocalnetGuardChain = "input";
// Its "add chain"/"add rule" commands alone (base_table_rules includes them).
std::string localnet_guard_rules(const std::string& table, const std::string& bridge);

// The same for IPv6 (family ip6): masquerade of the ULA subnet, DNAT of
// published ports arriving on the host's IPv6 addresses. Not on ::1: IPv6
// has no route_localnet, so a packet with source ::1 never leaves through
// the bridge, even with a masquerade rule for it (tried: the connection
// times out); [::1]:port is simply not published.
std::string base_table_rules6(const std::string& table, const std::string& bridge, const Subnet6& subnet);

struct DnatRule {
  std::string host_ip;  // "" = any local address
  uint16_t host_port = 0;
  std::string proto;         // tcp | udp
  std::string container_ip;  // IPv4, or IPv6 for Family::kIp6
  uint16_t container_port = 0;
};
// "add rule ..." lines for a container's published ports, each tagged with
// `comment "<container id>"` so they can be found and deleted later.
std::string dnat_rules(const std::string& table, const std::string& container_id,
                       const std::vector<DnatRule>& rules, Family family = Family::kIp);

// One published port spread over several containers (compose's replicas, as
// swarm's routing mesh and kube-proxy's nftables mode do it): each new
// connection is DNAT'ed to the next backend in turn (`numgen inc mod N`, a
// map from 0..N-1 to the addresses); conntrack keeps every packet of a
// connection on the backend its first one went to. Tagged with `tag` like
// dnat_rules; "" when there is no backend.
struct BalancedDnat {
  std::string host_ip;  // "" = any local address
  uint16_t host_port = 0;
  std::string proto;                     // tcp | udp
  std::vector<std::string> backend_ips;  // IPv4
  uint16_t container_port = 0;
};
std::string balanced_dnat_rule(const std::string& table, const std::string& tag, const BalancedDnat& r);

// Rules of the table whose comment is exactly `tag` (empty if no table).
std::vector<TaggedRule> rules_tagged(Nft& nft, const std::string& table, const std::string& tag,
                                     Family family = Family::kIp);
// Delete them by handle in one transaction (over netlink, see nft_netlink.h).
// Returns how many were deleted.
size_t delete_rules_tagged(Nft& nft, const std::string& table, const std::string& tag,
                           Family family = Family::kIp);

}  // namespace mctr::net
