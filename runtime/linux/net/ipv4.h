// IPv4 addresses and subnets as plain numbers (host byte order), so address
// arithmetic (gateway = network + 1, next free address) reads like arithmetic.
#pragma once

#include <cstdint>
#include <string>

namespace mctr::net {

// "10.88.0.5" -> 0x0a580005. Throws mctr::Error for anything else.
uint32_t parse_ipv4(const std::string& text);
std::string format_ipv4(uint32_t addr);

struct Subnet {
  uint32_t network = 0;  // host bits zero
  int prefix_len = 0;

  // "10.88.0.0/16"; the prefix must leave room for a gateway and a container (8..30).
  static Subnet parse(const std::string& cidr);
  std::string cidr() const;
  uint32_t mask() const { return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len); }
  uint32_t broadcast() const { return network | ~mask(); }
  uint32_t gateway() const { return network + 1; }  // the bridge's own address
  bool contains(uint32_t addr) const { return (addr & mask()) == network; }
  // Do the two ranges share any address?
  bool overlaps(const Subnet& other) const;
};

}  // namespace mctr::net
