// IPv6 addresses and subnets for the bridge's ULA prefix. Addresses are the
// 16 network-order bytes the kernel uses; host indexes (1 = the bridge, 2..
// = containers) are added to the low 32 bits, which is all IPAM needs.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace mctr::net {

using Ipv6 = std::array<uint8_t, 16>;

// "fd00::5" -> bytes. Throws mctr::Error for anything else.
Ipv6 parse_ipv6(const std::string& text);
std::string format_ipv6(const Ipv6& addr);  // canonical form (RFC 5952)

struct Subnet6 {
  Ipv6 network{};  // host bits zero
  int prefix_len = 0;

  // "fd00:6d63:7472::/64"; prefix 48..120 (room for a gateway and containers).
  static Subnet6 parse(const std::string& cidr);
  std::string cidr() const;
  // network + index (index < 2^32 and inside the subnet).
  Ipv6 host(uint32_t index) const;
  Ipv6 gateway() const { return host(1); }  // the bridge's own address
  // How many host indexes IPAM may hand out (capped: nobody runs 2^64 containers).
  uint32_t size() const;
  bool contains(const Ipv6& addr) const;
  bool contains(const std::string& addr) const;  // false for anything not IPv6
  // Do the two prefixes share an address (agree on their shorter prefix)?
  bool overlaps(const Ipv6& other_network, int other_prefix_len) const;
};

}  // namespace mctr::net
