// One published port over several containers (compose replicas): the rule's
// text, that the kernel takes it into a real table's hostports chain, and that
// it is found and deleted by its tag like the per-container rules. (The
// traffic spread itself is tests/integration/test_compose.sh.)
#include "net_fixture.h"
#include "util/subprocess.h"

namespace mctr::net::testing {
namespace {

TEST(BalancedDnat, RuleText) {
  EXPECT_EQ(balanced_dnat_rule("t", "compose p/web", {"", 8080, "tcp", {"10.0.0.2", "10.0.0.3"}, 80}),
            "add rule ip t hostports tcp dport 8080 dnat to numgen inc mod 2 map { 0 : 10.0.0.2, 1 : "
            "10.0.0.3 } : 80 "
            "comment \"compose p/web\"\n");
  EXPECT_EQ(balanced_dnat_rule("t", "x", {"127.0.0.1", 53, "udp", {"10.0.0.9"}, 5353}),
            "add rule ip t hostports ip daddr 127.0.0.1 udp dport 53 dnat to numgen inc mod 1 map { 0 : "
            "10.0.0.9 } : "
            "5353 comment \"x\"\n");
  EXPECT_EQ(balanced_dnat_rule("t", "x", {"", 80, "tcp", {}, 80}), "") << "no backend, no rule";
}

TEST_F(NetTest, BalancedDnatGoesIntoTheTableAndOutByTag) {
  Network net = make_network();
  NetnsChild& c = new_child();
  net.attach({container_id(1), "a", {}, {}}, c.pid());  // the table exists from the first attach
  Nft nft;
  nft.run(balanced_dnat_rule(opts_.table, "compose p/web",
                             {"", 18080, "tcp", {"10.231.0.2", "10.231.0.3", "10.231.0.4"}, 80}));
  const ProcessResult listed = run_process({"nft", "list", "chain", "ip", opts_.table, "hostports"});
  EXPECT_NE(listed.out.find("numgen inc mod 3 map { 0 : 10.231.0.2, 1 : 10.231.0.3, 2 : 10.231.0.4 }"),
            std::string::npos)
      << listed.out;
  EXPECT_EQ(rules_tagged(nft, opts_.table, "compose p/web").size(), 1u);
  EXPECT_EQ(delete_rules_tagged(nft, opts_.table, "compose p/web"), 1u);
  EXPECT_TRUE(rules_tagged(nft, opts_.table, "compose p/web").empty());
  net.detach(container_id(1));
}

}  // namespace
}  // namespace mctr::net::testing
