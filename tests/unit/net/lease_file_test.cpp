// The lease file (ipam.h): a line per container, read and written whole by
// every attach. What is written reads back the same, whatever bytes a name,
// an alias or the owner's path hold; a damaged line is an error that names
// it; the leases of an older minictr (ipam.json) are taken over once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "linux/net/ipam.h"
#include "util/error.h"

namespace mctr::net {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/mctr-lease-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Lease sample(const std::string& id, const std::string& ip) {
  Lease l;
  l.container_id = id;
  l.ip = ip;
  l.host_veth = "veth" + id.substr(0, 7);
  l.owner = "/var/lib/minictr/network";
  l.name = "web-" + id;
  return l;
}

void expect_same(const Lease& a, const Lease& b) {
  EXPECT_EQ(a.container_id, b.container_id);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.aliases, b.aliases);
  EXPECT_EQ(a.ip, b.ip);
  EXPECT_EQ(a.ip6, b.ip6);
  EXPECT_EQ(a.host_veth, b.host_veth);
  EXPECT_EQ(a.attached, b.attached);
  EXPECT_EQ(a.attaching_pid, b.attaching_pid);
  ASSERT_EQ(a.ports.size(), b.ports.size());
  for (size_t i = 0; i < a.ports.size(); ++i) {
    EXPECT_EQ(a.ports[i].proto, b.ports[i].proto);
    EXPECT_EQ(a.ports[i].host_ip, b.ports[i].host_ip);
    EXPECT_EQ(a.ports[i].host_port, b.ports[i].host_port);
    EXPECT_EQ(a.ports[i].container_port, b.ports[i].container_port);
  }
}

TEST(LeaseFile, WhatIsSavedReadsBackTheSame) {
  TempDir dir;
  Lease plain = sample("aaaa1111", "10.88.0.2");
  Lease odd = sample("bbbb2222", "10.88.0.3");
  odd.ip6 = "fd00::3";
  odd.attached = true;
  odd.attaching_pid = 4242;
  odd.aliases = {"db", "a,b", "tab\there", "back\\slash"};
  odd.name = "new\nline";
  odd.owner = "/tmp/a dir,with\tall\\of it";
  odd.ports = {{"", 8080, 80, "tcp"}, {"127.0.0.1", 5353, 53, "udp"}, {"::1", 8443, 443, "tcp"}};
  {
    LeaseFile lf(dir.path);
    EXPECT_TRUE(lf.leases().empty());
    lf.leases()[plain.container_id] = plain;
    lf.leases()[odd.container_id] = odd;
    lf.save();
  }
  const auto back = read_leases(lease_file(dir.path));
  ASSERT_EQ(back.size(), 2u);
  expect_same(back.at(plain.container_id), plain);
  expect_same(back.at(odd.container_id), odd);
  LeaseFile again(dir.path);
  EXPECT_EQ(again.leases().size(), 2u);
  EXPECT_TRUE(again.host_port_taken({"10.0.0.1", 8080, 0, "tcp"})) << "all addresses covers this one";
  EXPECT_FALSE(again.host_port_taken({"", 8080, 0, "udp"}));
}

TEST(LeaseFile, ADamagedLineIsAnErrorNamingIt) {
  TempDir dir;
  {
    LeaseFile lf(dir.path);
    lf.leases()["cccc3333"] = sample("cccc3333", "10.88.0.4");
    lf.save();
  }
  std::ofstream(lease_file(dir.path), std::ios::app) << "dddd4444\t10.88.0.5\n";
  try {
    read_leases(lease_file(dir.path));
    FAIL() << "a line with 2 fields was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  std::ofstream(lease_file(dir.path), std::ios::trunc)
      << "eeee5555\t10.88.0.6\t\tveth1\t1\tnot-a-pid\tname\t\t\t/owner\n";
  EXPECT_THROW(read_leases(lease_file(dir.path)), Error);
}

TEST(LeaseFile, TakesOverTheLeasesOfAnOlderMinictr) {
  TempDir dir;
  std::ofstream(dir.path / "ipam.json")
      << R"({"leases": {"ffff6666": {"owner": "/o", "name": "old", "aliases": ["x"], "ip": "10.88.0.9",
           "ip6": "", "host_veth": "vethffff666", "attached": true, "attaching_pid": 0,
           "ports": [{"host_ip": "", "host_port": 9090, "container_port": 90, "proto": "tcp"}]}}})";
  {
    LeaseFile lf(dir.path);
    ASSERT_EQ(lf.leases().count("ffff6666"), 1u);
    EXPECT_EQ(lf.leases().at("ffff6666").ip, "10.88.0.9");
    EXPECT_TRUE(lf.host_port_taken({"", 9090, 0, "tcp"}));
    lf.save();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path / "ipam.json")) << "its leases are in the new file now";
  EXPECT_EQ(read_leases(lease_file(dir.path)).at("ffff6666").name, "old");
}

}  // namespace
}  // namespace mctr::net
