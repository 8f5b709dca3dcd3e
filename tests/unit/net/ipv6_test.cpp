// Subnet6 arithmetic (no kernel involved).
#include "linux/net/ipv6.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace mctr::net {
namespace {

Ipv6 addr(const char* text) {
  Ipv6 a{};
  EXPECT_EQ(::inet_pton(AF_INET6, text, a.data()), 1) << text;
  return a;
}

TEST(Subnet6, OverlapsWhenTheyAgreeOnTheShorterPrefix) {
  Subnet6 s = Subnet6::parse("fd00:6d63:7472:1::/64");
  EXPECT_TRUE(s.overlaps(addr("fd00:6d63:7472:1::"), 64));       // the same
  EXPECT_TRUE(s.overlaps(addr("fd00:6d63::"), 32));              // a wider route holds it
  EXPECT_TRUE(s.overlaps(addr("fd00:6d63:7472:1:5::"), 80));     // a narrower one inside it
  EXPECT_TRUE(s.overlaps(addr("fd00::"), 8));                    // all of ULA space
  EXPECT_FALSE(s.overlaps(addr("fd00:6d63:7472:2::"), 64));      // the next /64
  EXPECT_FALSE(s.overlaps(addr("fe80::"), 64));                  // link-local
  EXPECT_TRUE(s.overlaps(addr("fd00:6d63:7472:1:8000::"), 65));  // its upper half
}

}  // namespace
}  // namespace mctr::net
