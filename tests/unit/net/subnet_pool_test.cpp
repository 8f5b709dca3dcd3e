// The default subnet is picked like Docker's: the first candidate of the
// address pools that overlaps no host route or address.
#include "linux/net/subnet_pool.h"

#include <gtest/gtest.h>

#include "expect_error.h"

namespace mctr::net {
namespace {

std::string first_free(const std::vector<AddressPool>& pools, const std::vector<std::string>& used) {
  std::vector<Subnet> in_use;
  for (const auto& u : used) in_use.push_back(Subnet::parse(u));
  auto s = first_free_subnet(pools, in_use);
  return s ? s->cidr() : "none";
}

TEST(SubnetPool, DefaultsAreDockersAndAvoidPodman) {
  auto pools = default_address_pools();
  EXPECT_EQ(first_free(pools, {}), "172.17.0.0/16");
  // Docker's docker0 and a user network on the host: the next one.
  EXPECT_EQ(first_free(pools, {"172.17.0.0/16", "172.18.0.0/16"}), "172.19.0.0/16");
  // podman's 10.88.0.0/16 is not a candidate at all.
  for (const auto& p : pools) EXPECT_FALSE(p.base.overlaps(Subnet::parse("10.88.0.0/16"))) << p.base.cidr();
}

TEST(SubnetPool, AnyOverlapCountsWiderOrNarrower) {
  auto pools = default_address_pools();
  // A /24 route inside 172.17/16, and a /12 covering all of 172.16-31.
  EXPECT_EQ(first_free(pools, {"172.17.5.0/24"}), "172.18.0.0/16");
  EXPECT_EQ(first_free(pools, {"172.16.0.0/12"}), "192.168.0.0/20");
  EXPECT_EQ(first_free(pools, {"172.16.0.0/12", "192.168.0.0/20", "192.168.16.0/24"}), "192.168.32.0/20");
  EXPECT_EQ(first_free(pools, {"172.16.0.0/12", "192.168.0.0/16"}), "none");
}

TEST(SubnetPool, PoolsAreCutIntoSize) {
  std::vector<AddressPool> pools{{Subnet::parse("10.199.7.0/24"), 26}};
  EXPECT_EQ(first_free(pools, {}), "10.199.7.0/26");
  EXPECT_EQ(first_free(pools, {"10.199.7.0/26"}), "10.199.7.64/26");
  EXPECT_EQ(first_free(pools, {"10.199.7.0/25"}), "10.199.7.128/26");
}

TEST(NetworkSettings, BipAndPools) {
  auto s = parse_network_settings(
      R"({"bip": "10.99.3.1/16", "default-address-pools": [{"base": "172.80.0.0/12", "size": 24}]})",
      "daemon.json");
  EXPECT_EQ(s.subnet, "10.99.0.0/16");
  ASSERT_EQ(s.pools.size(), 1u);
  EXPECT_EQ(s.pools[0].base.cidr(), "172.80.0.0/12");
  EXPECT_EQ(s.pools[0].size, 24);
  auto empty = parse_network_settings("{}", "daemon.json");
  EXPECT_EQ(empty.subnet, "");
  EXPECT_TRUE(empty.pools.empty());
}

TEST(NetworkSettings, BadInputNamesFileAndKey) {
  EXPECT_ERROR(parse_network_settings("{", "/etc/minictr/daemon.json"),
               "/etc/minictr/daemon.json: not valid JSON");
  EXPECT_ERROR(parse_network_settings(R"({"bip": "10.99.0.1"})", "f"), "f: bip: expected ADDRESS/PREFIX");
  EXPECT_ERROR(parse_network_settings(R"({"bip": "10.99.0.1/33"})", "f"), "f: bip: ");
  EXPECT_ERROR(parse_network_settings(R"({"bip": 5})", "f"), "f: bip: expected a string");
  EXPECT_ERROR(parse_network_settings(R"({"default-address-pools": [{"base": "10.0.0.0/8"}]})", "f"),
               "f: default-address-pools: each entry needs");
  EXPECT_ERROR(
      parse_network_settings(R"({"default-address-pools": [{"base": "10.0.0.0/16", "size": 12}]})", "f"),
      "size 12 must be between");
  EXPECT_ERROR(
      parse_network_settings(R"({"default-address-pools": [{"base": "10.0.0.1/16", "size": 24}]})", "f"),
      "host bits set");
}

}  // namespace
}  // namespace mctr::net
