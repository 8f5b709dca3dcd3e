#include "linux/net/ipv4.h"

#include <arpa/inet.h>

#include <charconv>

#include "util/error.h"

namespace mctr::net {

uint32_t parse_ipv4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) throw Error("invalid IPv4 address '" + text + "'");
  return ntohl(a.s_addr);
}

std::string format_ipv4(uint32_t addr) {
  in_addr a{htonl(addr)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Subnet Subnet::parse(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) throw Error("invalid subnet '" + cidr + "': expected ADDRESS/PREFIX");
  Subnet s;
  const std::string len = cidr.substr(slash + 1);
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), s.prefix_len);
  if (ec != std::errc() || end != len.data() + len.size() || s.prefix_len < 8 || s.prefix_len > 30)
    throw Error("invalid subnet '" + cidr + "': prefix length must be 8..30");
  uint32_t addr = parse_ipv4(cidr.substr(0, slash));
  s.network = addr & s.mask();
  if (s.network != addr) throw Error("invalid subnet '" + cidr + "': host bits set (use " + s.cidr() + ")");
  return s;
}

std::string Subnet::cidr() const { return format_ipv4(network) + "/" + std::to_string(prefix_len); }

bool Subnet::overlaps(const Subnet& other) const {
  // Two prefixes overlap exactly when the shorter one contains the other's network.
  const Subnet& wider = prefix_len <= other.prefix_len ? *this : other;
  const Subnet& narrower = prefix_len <= other.prefix_len ? other : *this;
  return wider.contains(narrower.network);
}

}  // namespace mctr::net
