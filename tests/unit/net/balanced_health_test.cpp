// Health and the balanced ports (balanced.h): which members a port's rule
// sends to (attached, and healthy if they have a healthcheck), that a
// member not attached any more goes back to "starting", and, on a real
// bridge and table, that a member's health moves it out of the numgen map
// and back in.
#include "linux/net/balanced.h"
#include "net_fixture.h"
#include "util/subprocess.h"

namespace mctr::net::testing {
namespace {

Lease attached(const std::string& id, const std::string& ip) {
  Lease l;
  l.container_id = id;
  l.ip = ip;
  l.attached = true;
  return l;
}

BalancedRecord record_of(const std::vector<std::string>& members) {
  BalancedRecord rec;
  rec.ports["compose p/web"] = BalancedPort{"compose p/web", {}, members};
  return rec;
}

TEST(BalancedRotation, HealthyOrWithoutHealthcheckAndAttached) {
  const std::map<std::string, Lease> leases{
      {"a", attached("a", "10.0.0.2")}, {"b", attached("b", "10.0.0.3")}, {"c", attached("c", "10.0.0.4")}};
  BalancedRecord rec = record_of({"a", "b", "c", "gone"});
  const BalancedPort& port = rec.ports.begin()->second;
  EXPECT_EQ(rotation(port, rec, leases), (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4"}))
      << "no health recorded: all attached members";
  rec.health = {{"a", "healthy"}, {"b", "unhealthy"}, {"c", "starting"}};
  EXPECT_EQ(rotation(port, rec, leases), std::vector<std::string>{"10.0.0.2"});
  rec.health["c"] = "healthy";
  EXPECT_EQ(rotation(port, rec, leases), (std::vector<std::string>{"10.0.0.2", "10.0.0.4"}));
  EXPECT_EQ(rotation(port, rec, leases, "a"), std::vector<std::string>{"10.0.0.4"}) << "a is leaving";
}

TEST(BalancedRotation, NotAttachedGoesBackToStartingOrIsForgotten) {
  std::map<std::string, Lease> leases{{"a", attached("a", "10.0.0.2")}, {"x", attached("x", "10.0.0.9")}};
  leases["half"] = attached("half", "10.0.0.5");
  leases["half"].attached = false;  // still being attached
  BalancedRecord rec = record_of({"a", "b", "half"});
  rec.health = {
      {"a", "healthy"}, {"b", "healthy"}, {"half", "unhealthy"}, {"x", "starting"}, {"old", "healthy"}};
  EXPECT_TRUE(settle_health(rec, leases));
  // a and x attached: kept as they are; b and half: members that will start again;
  // old: neither attached nor a member.
  EXPECT_EQ(rec.health, (std::map<std::string, std::string>{
                            {"a", "healthy"}, {"b", "starting"}, {"half", "starting"}, {"x", "starting"}}));
  EXPECT_FALSE(settle_health(rec, leases)) << "settled already";
  EXPECT_TRUE(settle_health(rec, leases, "a"));
  EXPECT_EQ(rec.health.at("a"), "starting") << "a detaching";
}

std::string hostports(const std::string& table) {
  return run_process({"nft", "list", "chain", "ip", table, "hostports"}).out;
}

TEST_F(NetTest, MemberHealthMovesItOutOfTheNumgenMapAndBack) {
  Network net = make_network();
  NetnsChild& c1 = new_child();
  NetnsChild& c2 = new_child();
  const Attachment a1 = net.attach({container_id(1), "one", {}, {}}, c1.pid());
  const Attachment a2 = net.attach({container_id(2), "two", {}, {}}, c2.pid());
  BalancedPort b{"compose p/web", {parse_port_mapping("18081:80")}, {container_id(1), container_id(2)}};
  EXPECT_EQ(set_balanced_port(opts_, b), 2u);
  const std::string both = "numgen inc mod 2 map { 0 : " + a1.ip + ", 1 : " + a2.ip + " }";
  const std::string only1 = "numgen inc mod 1 map { 0 : " + a1.ip + " }";
  EXPECT_NE(hostports(opts_.table).find(both), std::string::npos) << hostports(opts_.table);

  set_member_health(opts_, container_id(2), "starting");
  EXPECT_NE(hostports(opts_.table).find(only1), std::string::npos) << "starting: out";
  set_member_health(opts_, container_id(2), "healthy");
  EXPECT_NE(hostports(opts_.table).find(both), std::string::npos) << "healthy: in";
  set_member_health(opts_, container_id(2), "unhealthy");
  EXPECT_NE(hostports(opts_.table).find(only1), std::string::npos) << "unhealthy: out";
  set_member_health(opts_, container_id(1), "unhealthy");
  EXPECT_EQ(hostports(opts_.table).find("numgen"), std::string::npos) << "nobody healthy: no rule";
  set_member_health(opts_, container_id(2), "healthy");
  set_member_health(opts_, container_id(1), "healthy");
  EXPECT_NE(hostports(opts_.table).find(both), std::string::npos) << "both back";

  // Healthy, detached and attached again (a restart): out until it reports healthy.
  net.detach(container_id(2));
  EXPECT_NE(hostports(opts_.table).find(only1), std::string::npos) << "detached: out";
  NetnsChild& c2again = new_child();
  const Attachment again = net.attach({container_id(2), "two", {}, {}}, c2again.pid());
  EXPECT_NE(hostports(opts_.table).find(only1), std::string::npos) << "restarted, starting: out";
  set_member_health(opts_, container_id(2), "healthy");
  EXPECT_NE(hostports(opts_.table).find("0 : " + a1.ip + ", 1 : " + again.ip), std::string::npos)
      << hostports(opts_.table);

  EXPECT_EQ(set_balanced_port(opts_, {b.tag, b.ports, {}}), 0u);
  EXPECT_EQ(hostports(opts_.table).find("numgen"), std::string::npos) << "no members: no rule";
  net.detach(container_id(1));
  net.detach(container_id(2));
}

}  // namespace
}  // namespace mctr::net::testing
