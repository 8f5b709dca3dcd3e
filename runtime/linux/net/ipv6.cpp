#include "linux/net/ipv6.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "util/error.h"

namespace mctr::net {

Ipv6 parse_ipv6(const std::string& text) {
  Ipv6 a{};
  if (::inet_pton(AF_INET6, text.c_str(), a.data()) != 1) throw Error("invalid IPv6 address '" + text + "'");
  return a;
}

std::string format_ipv6(const Ipv6& addr) {
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
  return buf;
}

// Zero every bit after the first prefix_len.
static Ipv6 masked(Ipv6 a, int prefix_len) {
  for (int bit = prefix_len; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return a;
}

Subnet6 Subnet6::parse(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) throw Error("invalid IPv6 subnet '" + cidr + "': expected ADDRESS/PREFIX");
  Subnet6 s;
  const std::string len = cidr.substr(slash + 1);
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), s.prefix_len);
  if (ec != std::errc() || end != len.data() + len.size() || s.prefix_len < 48 || s.prefix_len > 120)
    throw Error("invalid IPv6 subnet '" + cidr + "': prefix length must be 48..120");
  Ipv6 addr = parse_ipv6(cidr.substr(0, slash));
  s.network = masked(addr, s.prefix_len);
  if (s.network != addr)
    throw Error("invalid IPv6 subnet '" + cidr + "': host bits set (use " + s.cidr() + ")");
  return s;
}

std::string Subnet6::cidr() const { return format_ipv6(network) + "/" + std::to_string(prefix_len); }

Ipv6 Subnet6::host(uint32_t index) const {
  Ipv6 a = network;
  uint64_t carry = index;
  for (int i = 15; i >= 0 && carry; --i) {
    carry += a[i];
    a[i] = static_cast<uint8_t>(carry & 0xff);
    carry >>= 8;
  }
  return a;
}

uint32_t Subnet6::size() const {
  const int host_bits = 128 - prefix_len;
  return host_bits >= 20 ? (1u << 20) : (1u << host_bits);  // 1M addresses are plenty
}

bool Subnet6::contains(const Ipv6& addr) const { return masked(addr, prefix_len) == network; }

bool Subnet6::overlaps(const Ipv6& other_network, int other_prefix_len) const {
  int shorter = std::min(prefix_len, other_prefix_len);
  return masked(network, shorter) == masked(other_network, shorter);
}

bool Subnet6::contains(const std::string& addr) const {
  Ipv6 a{};
  return ::inet_pton(AF_INET6, addr.c_str(), a.data()) == 1 && contains(a);
}

}  // namespace mctr::net
