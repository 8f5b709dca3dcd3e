// The user network's name server: the DNS message codec and the name lookup
// over the lease file, on byte fixtures (as a resolver sends them).
#include <gtest/gtest.h>

#include "linux/net/dns_message.h"
#include "linux/net/dns_server.h"

namespace mctr::net {
namespace {

// A query as busybox nslookup sends it: id 0x1234, RD, one question.
std::vector<uint8_t> query_for(const std::string& name, uint16_t type) {
  std::vector<uint8_t> m{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    m.push_back(static_cast<uint8_t>(dot - start));
    m.insert(m.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  m.push_back(0);
  m.insert(m.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type & 0xff), 0, 1});
  return m;
}

TEST(DnsMessage, ParsesTheQuestionLowerCased) {
  auto q = dns::parse_query(query_for("Web.Example", 1));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_TRUE(q->recursion_desired);
  EXPECT_EQ(q->name, "web.example");
  EXPECT_EQ(q->type, 1);
  EXPECT_EQ(q->qclass, 1);
  EXPECT_EQ(q->end, 12 + 13 + 4);
}

TEST(DnsMessage, RefusesWhatIsNotAQuery) {
  auto response = query_for("web", 1);
  response[2] |= 0x80;  // QR: a response
  EXPECT_FALSE(dns::parse_query(response));
  auto truncated = query_for("web", 1);
  truncated.resize(truncated.size() - 6);  // the name runs off the end
  EXPECT_FALSE(dns::parse_query(truncated));
  auto two = query_for("web", 1);
  two[5] = 2;  // QDCOUNT 2
  EXPECT_FALSE(dns::parse_query(two));
  auto pointer = query_for("web", 1);
  pointer[12] = 0xC0;  // a compression pointer where a label length belongs
  EXPECT_FALSE(dns::parse_query(pointer));
  EXPECT_FALSE(dns::parse_query({1, 2, 3}));
}

TEST(DnsMessage, AnswersWithOneRecordPerAddress) {
  auto query = query_for("web", 1);
  auto q = dns::parse_query(query);
  ASSERT_TRUE(q);
  auto r = dns::make_response(query, *q, dns::Rcode::NoError, {"10.1.2.3", "10.1.2.4", "fd00::2"}, 600);
  // Header: same id; QR AA RD RA, NOERROR; 1 question, 2 answers (the IPv6 one is no A record).
  EXPECT_EQ(r[0], 0x12);
  EXPECT_EQ(r[1], 0x34);
  EXPECT_EQ(r[2], 0x85);
  EXPECT_EQ(r[3], 0x80);
  EXPECT_EQ(r[5], 1);
  EXPECT_EQ(r[7], 2);
  const size_t answer = q->end;
  ASSERT_EQ(r.size(), answer + 2 * 16);
  // Name pointer to offset 12, type A, class IN, TTL 600, 4 bytes of address.
  std::vector<uint8_t> first(r.begin() + static_cast<long>(answer),
                             r.begin() + static_cast<long>(answer) + 16);
  EXPECT_EQ(first, (std::vector<uint8_t>{0xC0, 12, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 1, 2, 3}));
}

TEST(DnsMessage, ErrorsKeepTheIdAndQuestion) {
  auto query = query_for("nowhere", 28);
  auto q = dns::parse_query(query);
  ASSERT_TRUE(q);
  auto r = dns::make_response(query, *q, dns::Rcode::ServFail, {});
  EXPECT_EQ(r.size(), q->end);
  EXPECT_EQ(r[3] & 0x0f, 2);
  EXPECT_EQ(r[7], 0);
  auto e = dns::make_error({0xab, 0xcd, 0x01, 0x00, 0, 5, 0, 0, 0, 0, 0, 0}, dns::Rcode::FormErr);
  ASSERT_EQ(e.size(), 12u);
  EXPECT_EQ(e[0], 0xab);
  EXPECT_EQ(e[3] & 0x0f, 1);
  EXPECT_EQ(e[5], 0);  // no question echoed
}

std::map<std::string, Lease> leases() {
  Lease web;
  web.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  web.name = "web";
  web.aliases = {"Frontend"};
  web.ip = "10.5.0.2";
  web.ip6 = "fd00::2";
  web.attached = true;
  Lease db;
  db.container_id = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  db.name = "db";
  db.ip = "10.5.0.3";
  return {{web.container_id, web}, {db.container_id, db}};
}

TEST(DnsLookup, NamesAliasesAndShortIds) {
  auto l = leases();
  EXPECT_EQ(lookup_network_name(l, "web", dns::Type::A), std::vector<std::string>{"10.5.0.2"});
  EXPECT_EQ(lookup_network_name(l, "frontend", dns::Type::A), std::vector<std::string>{"10.5.0.2"});
  EXPECT_EQ(lookup_network_name(l, "0123456789ab", dns::Type::A), std::vector<std::string>{"10.5.0.2"});
  EXPECT_EQ(lookup_network_name(l, "web", dns::Type::AAAA), std::vector<std::string>{"fd00::2"});
  // db is the network's, without IPv6: an empty answer, not "no such name".
  auto db6 = lookup_network_name(l, "db", dns::Type::AAAA);
  ASSERT_TRUE(db6);
  EXPECT_TRUE(db6->empty());
  EXPECT_FALSE(lookup_network_name(l, "example.com", dns::Type::A));
  EXPECT_FALSE(lookup_network_name(l, "0123456789", dns::Type::A));  // 10 digits: not Docker's short id
}

TEST(DnsLookup, NameServersOfResolvConf) {
  EXPECT_EQ(name_servers_of("# comment\nsearch lan\nnameserver 10.0.0.1\nnameserver  ::1\noptions ndots:0\n"),
            (std::vector<std::string>{"10.0.0.1", "::1"}));
}

}  // namespace
}  // namespace mctr::net
