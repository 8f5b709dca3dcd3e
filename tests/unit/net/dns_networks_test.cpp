// One resolver for all of a container's networks (dns_server.h's
// lookup_for_client): a name on another network is answered to a sender
// attached there too (`network connect`), and to nobody else. The sender is
// known by the 127.0.0.11 socket its query came in on: its container id.
#include <gtest/gtest.h>

#include "linux/net/dns_server.h"

namespace mctr::net {
namespace {

Lease lease(const std::string& id, const std::string& name, const std::string& ip,
            std::vector<std::string> aliases = {}) {
  Lease l;
  l.container_id = id;
  l.name = name;
  l.ip = ip;
  l.aliases = std::move(aliases);
  l.attached = true;
  return l;
}

TEST(DnsForClient, NamesOfTheSendersOtherNetworks) {
  // front: a (connected to back too) and c; back: a's second address and db.
  const std::map<std::string, Lease> front{{"a-id", lease("a-id", "a", "10.1.0.2")},
                                           {"c-id", lease("c-id", "c", "10.1.0.3")}};
  const std::map<std::string, Lease> back{{"a-id", lease("a-id", "a", "10.2.0.5")},
                                          {"db-id", lease("db-id", "db", "10.2.0.6", {"primary"})}};
  const std::vector<const std::map<std::string, Lease>*> others{&back};
  using V = std::vector<std::string>;
  EXPECT_EQ(lookup_for_client(front, others, "a-id", "c", dns::Type::A), V{"10.1.0.3"}) << "its own network";
  EXPECT_EQ(lookup_for_client(front, others, "a-id", "primary", dns::Type::A), V{"10.2.0.6"})
      << "an alias on its second network";
  EXPECT_EQ(lookup_for_client(front, others, "a-id", "db", dns::Type::A), V{"10.2.0.6"});
  EXPECT_EQ(lookup_for_client(front, others, "a-id", "a", dns::Type::A), V{"10.1.0.2"})
      << "the network asked first answers first";
  EXPECT_FALSE(lookup_for_client(front, others, "c-id", "db", dns::Type::A)) << "c is not on back";
  EXPECT_FALSE(lookup_for_client(front, others, "x-id", "db", dns::Type::A)) << "not a container";
  EXPECT_FALSE(lookup_for_client(front, others, "a-id", "example.com", dns::Type::A));

  std::map<std::string, Lease> back_detaching = back;
  back_detaching["a-id"].attached = false;
  EXPECT_FALSE(lookup_for_client(front, {&back_detaching}, "a-id", "db", dns::Type::A))
      << "a's lease on back is not attached";
}

}  // namespace
}  // namespace mctr::net
