// The table's guard against containers reaching the host's 127.0.0.0/8
// (CVE-2020-8558): made with a new table, added to a table an older minictr
// made without it, and never twice. (The attack itself, raw frames from a
// container, is tests/security/test_host_net.sh.)
#include "net_fixture.h"
#include "util/subprocess.h"

namespace mctr::net::testing {
namespace {

// Rules of the chain that match 127.0.0.0/8 (the chain's own line has none).
size_t rules_in_chain(const std::string& table, const std::string& chain) {
  ProcessResult r = run_process({"nft", "list", "chain", "ip", table, chain});
  if (r.status != 0) return 0;
  size_t n = 0;
  for (size_t pos = 0; (pos = r.out.find("127.0.0.0/8", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

TEST_F(NetTest, LocalnetGuardIsMadeWithTheTable) {
  Nft nft;
  EXPECT_FALSE(nft.netlink().chain_exists(opts_.table, kLocalnetGuardChain, Family::kIp)) << "no table yet";
  Network net = make_network();
  NetnsChild& c = new_child();
  net.attach({container_id(1), "a", {}, {}}, c.pid());
  EXPECT_TRUE(nft.netlink().chain_exists(opts_.table, kLocalnetGuardChain, Family::kIp));
  EXPECT_FALSE(nft.netlink().chain_exists(opts_.table, "no-such-chain", Family::kIp));
  EXPECT_EQ(rules_in_chain(opts_.table, kLocalnetGuardChain), 2u);
  net.detach(container_id(1));
}

TEST_F(NetTest, LocalnetGuardIsAddedToAnOlderTableOnce) {
  Network net = make_network();
  NetnsChild& a = new_child();
  NetnsChild& b = new_child();
  NetnsChild& c = new_child();
  net.attach({container_id(1), "a", {}, {}}, a.pid());
  Nft nft;
  const std::string chain = std::string("ip ") + opts_.table + " " + kLocalnetGuardChain;
  nft.run("flush chain " + chain + "\ndelete chain " + chain + "\n");  // as an older minictr left it
  ASSERT_FALSE(nft.netlink().chain_exists(opts_.table, kLocalnetGuardChain, Family::kIp));
  net.attach({container_id(2), "b", {}, {}}, b.pid());
  EXPECT_TRUE(nft.netlink().chain_exists(opts_.table, kLocalnetGuardChain, Family::kIp));
  net.attach({container_id(3), "c", {}, {}}, c.pid());
  EXPECT_EQ(rules_in_chain(opts_.table, kLocalnetGuardChain), 2u) << "the guard was added twice";
  net.detach(container_id(1));
  net.detach(container_id(2));
  net.detach(container_id(3));
}

}  // namespace
}  // namespace mctr::net::testing
