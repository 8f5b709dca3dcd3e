// Port specs (-p, -P) and subnet arithmetic: pure parsing, no root needed.
#include <gtest/gtest.h>

#include "linux/net/ipv4.h"
#include "linux/net/network.h"
#include "util/error.h"

namespace mctr::net {
namespace {

TEST(NetPortSpec, HostAndContainerPort) {
  PortMapping p = parse_port_mapping("8080:80");
  EXPECT_EQ(p.host_ip, "");
  EXPECT_EQ(p.host_port, 8080);
  EXPECT_EQ(p.container_port, 80);
  EXPECT_EQ(p.proto, "tcp");
}

TEST(NetPortSpec, HostIpAndProto) {
  PortMapping p = parse_port_mapping("127.0.0.1:5353:53/udp");
  EXPECT_EQ(p.host_ip, "127.0.0.1");
  EXPECT_EQ(p.host_port, 5353);
  EXPECT_EQ(p.container_port, 53);
  EXPECT_EQ(p.proto, "udp");
  EXPECT_EQ(format_port_mapping(p), "127.0.0.1:5353:53/udp");
}

TEST(NetPortSpec, ContainerPortAloneLeavesHostPortToAttach) {
  PortMapping p = parse_port_mapping("80/tcp");
  EXPECT_EQ(p.host_port, 0);
  EXPECT_EQ(p.container_port, 80);
  PortMapping q = parse_port_mapping("127.0.0.1::8080");
  EXPECT_EQ(q.host_ip, "127.0.0.1");
  EXPECT_EQ(q.host_port, 0);
  EXPECT_EQ(q.container_port, 8080);
}

TEST(NetPortSpec, HostPortZeroLeavesHostPortToAttach) {
  // Docker: "-p 0:80" publishes on a free host port, as "-p 80" does.
  PortMapping p = parse_port_mapping("0:80");
  EXPECT_EQ(p.host_port, 0);
  EXPECT_EQ(p.container_port, 80);
  PortMapping q = parse_port_mapping("127.0.0.1:0:53/udp");
  EXPECT_EQ(q.host_ip, "127.0.0.1");
  EXPECT_EQ(q.host_port, 0);
  EXPECT_EQ(q.proto, "udp");
  EXPECT_THROW(parse_port_mapping("0-1:80"), Error);
}

TEST(NetPortSpec, AllAddressesIsNoAddress) { EXPECT_EQ(parse_port_mapping("0.0.0.0:80:80").host_ip, ""); }

TEST(NetPortSpec, BadSpecsThrow) {
  for (const char* bad : {"", "abc", "80:", ":80", "80:0", "65536:80", "80:70000", "-1:80", "8080:80/sctp",
                          "8080:80/", "1.2.3:80:80", "::1:80:80", "a:b:c:d", "8000-8010:80-81", "80 ", " 80",
                          "localhost:80:80", "1.2.3.4:80:80:80"}) {
    EXPECT_THROW(parse_port_mapping(bad), Error) << "'" << bad << "' was accepted";
  }
}

TEST(NetPortSpec, EqualRangesMapPortByPort) {
  auto ports = parse_port_mappings("8000-8002:80-82");
  ASSERT_EQ(ports.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ports[i].host_port, 8000 + i);
    EXPECT_EQ(ports[i].container_port, 80 + i);
    EXPECT_EQ(ports[i].host_port_end, 0);
    EXPECT_EQ(ports[i].proto, "tcp");
  }
  auto udp = parse_port_mappings("127.0.0.1:9000-9001:9000-9001/udp");
  ASSERT_EQ(udp.size(), 2u);
  EXPECT_EQ(format_port_mapping(udp[0]), "127.0.0.1:9000:9000/udp");
  EXPECT_EQ(format_port_mapping(udp[1]), "127.0.0.1:9001:9001/udp");
}

TEST(NetPortSpec, HostRangeWithOneContainerPortPicksOneHostPort) {
  auto ports = parse_port_mappings("8080-8081:80");
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].host_port, 8080);
  EXPECT_EQ(ports[0].host_port_end, 8081);
  EXPECT_EQ(ports[0].container_port, 80);
  EXPECT_EQ(format_port_mapping(ports[0]), "8080-8081:80/tcp");
  EXPECT_EQ(parse_port_mapping("8080-8081:80").host_port_end, 8081);
}

TEST(NetPortSpec, ContainerRangeAloneLeavesHostPortsToAttach) {
  auto ports = parse_port_mappings("80-82/udp");
  ASSERT_EQ(ports.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ports[i].host_port, 0);
    EXPECT_EQ(ports[i].container_port, 80 + i);
    EXPECT_EQ(ports[i].proto, "udp");
  }
  auto lo = parse_port_mappings("127.0.0.1::80-81");
  ASSERT_EQ(lo.size(), 2u);
  EXPECT_EQ(lo[1].host_ip, "127.0.0.1");
  EXPECT_EQ(lo[1].host_port, 0);
  EXPECT_EQ(lo[1].container_port, 81);
  EXPECT_THROW(parse_port_mapping("80-82"), Error);  // not ONE mapping
}

TEST(NetPortSpec, BadRangesThrowWithAReason) {
  for (const char* bad : {"8000-8001:80-82", "8000:80-82", "82-80:80", "8000:82-80", "8000-:80", "-8000:80",
                          "8000-8001-8002:80", "0-5:80", "1-70000:80", "80-", "8000 - 8001:80"}) {
    EXPECT_THROW(parse_port_mappings(bad), Error) << "'" << bad << "' was accepted";
  }
  try {
    parse_port_mappings("8000-8001:80-82");
    FAIL() << "size mismatch accepted";
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "invalid port mapping '8000-8001:80-82': host port range has 2 ports but container port range has 3");
  }
}

TEST(NetPortSpec, PublishAllTakesExposedPorts) {
  auto ports = publish_all({"80/tcp", "53/udp", "8080"});
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].container_port, 80);
  EXPECT_EQ(ports[0].proto, "tcp");
  EXPECT_EQ(ports[1].container_port, 53);
  EXPECT_EQ(ports[1].proto, "udp");
  EXPECT_EQ(ports[2].container_port, 8080);
  for (const auto& p : ports) EXPECT_EQ(p.host_port, 0);
  EXPECT_THROW(publish_all({"80/icmp"}), Error);
  EXPECT_THROW(publish_all({"x"}), Error);
}

TEST(NetPortSpec, FreeHostPortIsBindable) {
  uint16_t port = pick_free_host_port("tcp", "127.0.0.1");
  EXPECT_GT(port, 1023);
  PortMapping p{"127.0.0.1", port, 80, "tcp", 0};
  EXPECT_NO_THROW(check_host_port_free(p));
  PortMapping foreign{"203.0.113.77", port, 80, "tcp", 0};  // not an address of this host
  EXPECT_THROW(check_host_port_free(foreign), Error);
}

TEST(NetSubnet, ParseAndArithmetic) {
  Subnet s = Subnet::parse("10.88.0.0/16");
  EXPECT_EQ(s.cidr(), "10.88.0.0/16");
  EXPECT_EQ(format_ipv4(s.gateway()), "10.88.0.1");
  EXPECT_EQ(format_ipv4(s.broadcast()), "10.88.255.255");
  EXPECT_TRUE(s.contains(parse_ipv4("10.88.3.4")));
  EXPECT_FALSE(s.contains(parse_ipv4("10.89.0.1")));
  EXPECT_THROW(Subnet::parse("10.88.0.1/16"), Error);  // host bits
  EXPECT_THROW(Subnet::parse("10.88.0.0"), Error);
  EXPECT_THROW(Subnet::parse("10.88.0.0/31"), Error);
  EXPECT_THROW(Subnet::parse("10.88.0.0/x"), Error);
  EXPECT_THROW(Subnet::parse("fd00::/64"), Error);
}

TEST(NetSubnet, Overlaps) {
  Subnet a = Subnet::parse("10.88.0.0/16");
  EXPECT_TRUE(a.overlaps(Subnet::parse("10.88.5.0/24")));
  EXPECT_TRUE(Subnet::parse("10.88.5.0/24").overlaps(a));
  EXPECT_TRUE(a.overlaps(Subnet::parse("10.0.0.0/8")));
  EXPECT_FALSE(a.overlaps(Subnet::parse("10.89.0.0/16")));
  EXPECT_FALSE(a.overlaps(Subnet::parse("192.168.0.0/24")));
}

}  // namespace
}  // namespace mctr::net
