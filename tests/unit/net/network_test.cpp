// Network against the real kernel (root): bridge, veth pairs into child
// processes' network namespaces, nftables DNAT, IPAM under a lock.
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "net_fixture.h"

namespace mctr::net::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct InsideView {
  std::vector<std::string> eth0_addrs;
  uint32_t default_gw = 0;
  int default_ifindex = 0;
  int eth0_index = 0;
  std::string eth0_mac;
};

InsideView look_inside(pid_t pid) {
  InsideView v;
  run_in_netns(pid, [&] {
    NlSocket sk;
    v.eth0_index = link_index(sk, "eth0");
    if (v.eth0_index == 0) return;
    v.eth0_addrs = addr_list(sk, v.eth0_index);
    v.eth0_mac = link_mac(sk, "eth0");
    for (const RouteV4& r : routes_v4(sk))
      if (r.dst.prefix_len == 0) {
        v.default_gw = r.gateway;
        v.default_ifindex = r.ifindex;
      }
  });
  return v;
}

bool host_link_exists(const std::string& name) {
  NlSocket sk;
  return link_index(sk, name) != 0;
}

TEST_F(NetTest, AttachGivesEth0AnAddressAndDefaultRoute) {
  Network net = make_network();
  NetnsChild& c = new_child();
  Attachment a = net.attach({container_id(1), "web", {}, {}}, c.pid());

  Subnet subnet = Subnet::parse(opts_.subnet);
  EXPECT_TRUE(subnet.contains(parse_ipv4(a.ip)));
  EXPECT_NE(a.ip, gateway_);
  EXPECT_EQ(a.gateway, gateway_);
  EXPECT_EQ(a.prefix_len, 24);
  EXPECT_EQ(a.host_veth, "mctr" + container_id(1).substr(0, 8));

  InsideView v = look_inside(c.pid());
  ASSERT_NE(v.eth0_index, 0) << "no eth0 in the child's netns";
  EXPECT_EQ(v.eth0_addrs, std::vector<std::string>{a.ip + "/24"});
  EXPECT_EQ(v.default_gw, subnet.gateway());
  EXPECT_EQ(v.default_ifindex, v.eth0_index);
  EXPECT_EQ(v.eth0_mac, a.mac);

  // Host side: the veth end and the bridge with the gateway address.
  NlSocket sk;
  EXPECT_NE(link_index(sk, a.host_veth), 0);
  int br = link_index(sk, opts_.bridge);
  ASSERT_NE(br, 0);
  EXPECT_EQ(addr_list(sk, br), std::vector<std::string>{gateway_ + "/24"});
  EXPECT_EQ(fs::trim(fs::read_file("/proc/sys/net/ipv4/conf/" + opts_.bridge + "/route_localnet")), "1");

  auto hosts = net.hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].name, "web");
  EXPECT_EQ(hosts[0].ip, a.ip);

  // The host reaches the container directly on the bridge.
  UniqueFd l = tcp_listener(c.pid(), 80);
  Network::Counters before = Network::counters(c.pid());
  Probe p = tcp_probe(0, a.ip, 80, l.get());
  EXPECT_TRUE(p.connected);
  EXPECT_EQ(p.received, "hello");
  EXPECT_EQ(p.peer_ip, gateway_);
  Network::Counters after = Network::counters(c.pid());
  EXPECT_GT(after.rx_bytes, before.rx_bytes);
  EXPECT_GT(after.tx_bytes, before.tx_bytes);

  net.detach(container_id(1));
}

TEST_F(NetTest, TwoContainersTalkTcpByIp) {
  Network net = make_network();
  NetnsChild& a = new_child();
  NetnsChild& b = new_child();
  Attachment aa = net.attach({container_id(1), "a", {}, {}}, a.pid());
  Attachment ab = net.attach({container_id(2), "b", {}, {}}, b.pid());
  EXPECT_NE(aa.ip, ab.ip);
  EXPECT_NE(aa.mac, ab.mac);

  UniqueFd lb = tcp_listener(b.pid(), 80);
  Probe p = tcp_probe(a.pid(), ab.ip, 80, lb.get());
  EXPECT_TRUE(p.connected);
  EXPECT_EQ(p.received, "hello");
  EXPECT_EQ(p.peer_ip, aa.ip);  // same bridge: no NAT in between

  UniqueFd la = tcp_listener(a.pid(), 8080);
  Probe q = tcp_probe(b.pid(), aa.ip, 8080, la.get());
  EXPECT_TRUE(q.connected);
  EXPECT_EQ(q.received, "hello");

  net.detach(container_id(1));
  net.detach(container_id(2));
}

TEST_F(NetTest, PublishedPortReachableFromHostLocalhostBridgeIpAndOtherContainers) {
  Network net = make_network();
  NetnsChild& server = new_child();
  NetnsChild& client = new_child();
  uint16_t hp = pick_free_host_port("tcp", "");
  Attachment as = net.attach(
      {container_id(1), "server", {parse_port_mapping(std::to_string(hp) + ":80")}, {}}, server.pid());
  Attachment ac = net.attach({container_id(2), "client", {}, {}}, client.pid());
  ASSERT_EQ(as.ports.size(), 1u);
  EXPECT_EQ(as.ports[0].host_port, hp);
  UniqueFd l = tcp_listener(server.pid(), 80);

  // Host -> 127.0.0.1: DNAT in output, route_localnet, masquerade of 127/8.
  Probe local = tcp_probe(0, "127.0.0.1", hp, l.get());
  EXPECT_TRUE(local.connected);
  EXPECT_EQ(local.received, "hello");
  EXPECT_EQ(local.peer_ip, gateway_);

  // Host -> its bridge address.
  Probe via_bridge = tcp_probe(0, gateway_, hp, l.get());
  EXPECT_TRUE(via_bridge.connected);
  EXPECT_EQ(via_bridge.received, "hello");

  // Another container -> the host's address (DNAT in prerouting, hairpin masquerade).
  Probe from_peer = tcp_probe(client.pid(), gateway_, hp, l.get());
  EXPECT_TRUE(from_peer.connected);
  EXPECT_EQ(from_peer.received, "hello");
  EXPECT_EQ(from_peer.peer_ip, gateway_) << "hairpin traffic must be masqueraded (client " << ac.ip << ")";

  // The container itself -> its own published port through the host.
  Probe self = tcp_probe(server.pid(), gateway_, hp, l.get());
  EXPECT_TRUE(self.connected);
  EXPECT_EQ(self.received, "hello");

  net.detach(container_id(1));
  net.detach(container_id(2));
}

// What a host program's bind(2) of ip:port gets (0 or errno); with
// SO_REUSEADDR first, as most servers set it.
int host_bind(const std::string& ip, uint16_t port, int type, bool reuse) {
  UniqueFd s(check_sys(::socket(AF_INET, type | SOCK_CLOEXEC, 0), "socket"));
  int one = 1;
  if (reuse) ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = sockaddr_of(ip, port);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return errno;
  if (type == SOCK_STREAM && ::listen(s.get(), 1) < 0) return errno;
  return 0;
}

TEST_F(NetTest, PublishedPortsAreHeldUntilDetach) {
  Network net = make_network();
  NetnsChild& c = new_child();
  NetnsChild& other = new_child();
  Attachment a = net.attach(
      {container_id(1), "held", {parse_port_mapping("0:80"), parse_port_mapping("127.0.0.1::53/udp")}, {}},
      c.pid());
  ASSERT_EQ(a.ports.size(), 2u);
  const uint16_t tcp = a.ports[0].host_port, udp = a.ports[1].host_port;
  ASSERT_NE(tcp, 0);
  ASSERT_NE(udp, 0);
  EXPECT_EQ(host_bind("0.0.0.0", tcp, SOCK_STREAM, false), EADDRINUSE);
  EXPECT_EQ(host_bind("0.0.0.0", tcp, SOCK_STREAM, true), EADDRINUSE)
      << "a listener must refuse SO_REUSEADDR";
  EXPECT_EQ(host_bind("127.0.0.1", tcp, SOCK_STREAM, true), EADDRINUSE);
  EXPECT_EQ(host_bind("127.0.0.1", udp, SOCK_DGRAM, true), EADDRINUSE);
  // Traffic still goes to the container, not to the holding socket.
  UniqueFd l = tcp_listener(c.pid(), 80);
  EXPECT_EQ(tcp_probe(0, "127.0.0.1", tcp, l.get()).received, "hello");
  // Another container asking for the same port: Docker's message, nothing made.
  try {
    net.attach({container_id(2), "twin", {parse_port_mapping(std::to_string(tcp) + ":80")}, {}}, other.pid());
    ADD_FAILURE() << "a held port was published twice";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "Bind for 0.0.0.0:" + std::to_string(tcp) + " failed: port is already allocated");
  }
  EXPECT_FALSE(host_link_exists("mctr" + container_id(2).substr(0, 8)));
  net.detach(container_id(1));
  EXPECT_EQ(host_bind("0.0.0.0", tcp, SOCK_STREAM, true), 0);
  EXPECT_EQ(host_bind("127.0.0.1", udp, SOCK_DGRAM, false), 0);
}

TEST_F(NetTest, HostProgramOnThePortFailsTheAttach) {
  Network net = make_network();
  NetnsChild& c = new_child();
  UniqueFd busy = tcp_listener(0, 0);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(busy.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  try {
    net.attach({container_id(1), "late", {parse_port_mapping(std::to_string(port) + ":80")}, {}}, c.pid());
    ADD_FAILURE() << "a port a host program listens on was published";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "Bind for 0.0.0.0:" + std::to_string(port) + " failed: port is already allocated");
  }
  EXPECT_FALSE(host_link_exists("mctr" + container_id(1).substr(0, 8)));
  Nft nft;
  EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(1)).empty());
}

TEST_F(NetTest, PortBoundToLoopbackIsNotPublishedOnOtherAddresses) {
  Network net = make_network();
  NetnsChild& c = new_child();
  Attachment a = net.attach({container_id(1), "lo-only", {parse_port_mapping("127.0.0.1::80")}, {}}, c.pid());
  ASSERT_EQ(a.ports.size(), 1u);
  uint16_t hp = a.ports[0].host_port;
  EXPECT_NE(hp, 0);
  EXPECT_EQ(a.ports[0].host_ip, "127.0.0.1");
  UniqueFd l = tcp_listener(c.pid(), 80);

  Probe local = tcp_probe(0, "127.0.0.1", hp, l.get());
  EXPECT_TRUE(local.connected);
  EXPECT_EQ(local.received, "hello");

  Probe other = tcp_probe(0, gateway_, hp, l.get(), 500);
  EXPECT_FALSE(other.connected) << "127.0.0.1 mapping answered on " << gateway_;
  net.detach(container_id(1));
}

TEST_F(NetTest, UdpPortIsPublished) {
  Network net = make_network();
  NetnsChild& c = new_child();
  uint16_t hp = pick_free_host_port("udp", "");
  Attachment a =
      net.attach({container_id(1), "dns", {parse_port_mapping(std::to_string(hp) + ":53/udp")}, {}}, c.pid());
  UniqueFd server;
  run_in_netns(c.pid(), [&] {
    server.reset(check_sys(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));
    sockaddr_in addr = sockaddr_of("0.0.0.0", 53);
    check_sys(::bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), "bind");
  });
  UniqueFd client(check_sys(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));
  sockaddr_in dst = sockaddr_of("127.0.0.1", hp);
  ASSERT_EQ(::sendto(client.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 4);
  pollfd p{server.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1) << "datagram to 127.0.0.1:" << hp << "/udp did not arrive";
  char buf[8];
  EXPECT_EQ(::recv(server.get(), buf, sizeof buf, 0), 4);
  net.detach(container_id(1));
  (void)a;
}

// detach_later() only holds the IPAM lock; finish() removes the rules, the
// lease and the veth (slow to delete). Until the lease is gone another
// command's view of the leases waits instead of seeing half a detach.
TEST_F(NetTest, DetachLaterRemovesRulesNowAndVethAtFinish) {
  Network net = make_network();
  NetnsChild& c = new_child();
  const std::string id = container_id(1);
  Attachment a = net.attach({id, "x", {parse_port_mapping("80")}, {}}, c.pid());

  auto pending = net.detach_later(id);
  EXPECT_TRUE(host_link_exists(a.host_veth));
  std::atomic<bool> listed{false};
  std::thread other([&] {
    Network second = make_network();
    second.hosts();  // takes the IPAM lock
    listed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(listed) << "the lease file was readable during the detach";
  pending.finish();
  other.join();
  EXPECT_TRUE(listed);
  {
    Nft nft;
    EXPECT_TRUE(rules_tagged(nft, opts_.table, id).empty());
  }
  EXPECT_FALSE(host_link_exists(a.host_veth));
  EXPECT_TRUE(net.hosts().empty());
}

TEST_F(NetTest, DetachRemovesVethRulesAndLease) {
  Network net = make_network();
  NetnsChild& c = new_child();
  const std::string id = container_id(1);
  Attachment a = net.attach(
      {id, "x", {parse_port_mapping("80"), parse_port_mapping("127.0.0.1::443/tcp")}, {}}, c.pid());
  {
    Nft nft;
    EXPECT_EQ(rules_tagged(nft, opts_.table, id).size(), 2u);
  }
  EXPECT_TRUE(host_link_exists(a.host_veth));

  net.detach(id);
  {
    Nft nft;
    EXPECT_TRUE(rules_tagged(nft, opts_.table, id).empty());
    EXPECT_TRUE(nft.table_exists(opts_.table)) << "detach must leave the shared table";
  }
  EXPECT_FALSE(host_link_exists(a.host_veth));
  EXPECT_EQ(look_inside(c.pid()).eth0_index, 0) << "eth0 must go with its host end";
  EXPECT_TRUE(host_link_exists(opts_.bridge));
  EXPECT_TRUE(net.hosts().empty());
  EXPECT_NO_THROW(net.detach(id));  // idempotent

  // The address is free again: the next container may get it.
  NetnsChild& d = new_child();
  Attachment again = net.attach({container_id(2), "y", {}, {}}, d.pid());
  EXPECT_EQ(again.ip, a.ip);
  net.detach(container_id(2));
}

TEST_F(NetTest, DetachLeavesOtherContainersRules) {
  Network net = make_network();
  NetnsChild& a = new_child();
  NetnsChild& b = new_child();
  net.attach({container_id(1), "a", {parse_port_mapping("80")}, {}}, a.pid());
  net.attach({container_id(2), "b", {parse_port_mapping("80")}, {}}, b.pid());
  net.detach(container_id(1));
  Nft nft;
  EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(1)).empty());
  EXPECT_EQ(rules_tagged(nft, opts_.table, container_id(2)).size(), 1u);
  net.detach(container_id(2));
}

TEST_F(NetTest, PruneRemovesBridgeAndTableOnlyWhenUnused) {
  Network net = make_network();
  NetnsChild& c = new_child();
  net.attach({container_id(1), "x", {}, {}}, c.pid());
  net.prune();
  EXPECT_TRUE(host_link_exists(opts_.bridge)) << "prune removed a bridge in use";
  {
    Nft nft;
    EXPECT_TRUE(nft.table_exists(opts_.table));
  }
  net.detach(container_id(1));
  net.prune();
  EXPECT_FALSE(host_link_exists(opts_.bridge));
  Nft nft;
  EXPECT_FALSE(nft.table_exists(opts_.table));
  EXPECT_NO_THROW(net.prune());
}

TEST_F(NetTest, DeadContainerLeaseIsDroppedWithItsRules) {
  Network net = make_network();
  NetnsChild& c = new_child();
  Attachment a = net.attach({container_id(1), "x", {parse_port_mapping("80")}, {}}, c.pid());
  c.stop();  // netns dies -> the kernel deletes both veth ends
  for (int i = 0; i < 100 && host_link_exists(a.host_veth); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(host_link_exists(a.host_veth));
  net.prune();  // no detach was called: prune finds the lease stale
  EXPECT_FALSE(host_link_exists(opts_.bridge));
  Nft nft;
  EXPECT_FALSE(nft.table_exists(opts_.table));
}

// Stale leases are found from the bridge's list of ports (brif), one read
// for all of them: the dead container's lease goes at the next attach (its
// address is given out again), the living one's stays.
TEST_F(NetTest, NextAttachDropsOnlyTheDeadContainersLease) {
  Network net = make_network();
  NetnsChild& live = new_child();
  NetnsChild& dead = new_child();
  NetnsChild& next = new_child();
  Attachment al = net.attach({container_id(1), "live", {}, {}}, live.pid());
  Attachment ad = net.attach({container_id(2), "dead", {parse_port_mapping("80")}, {}}, dead.pid());
  dead.stop();  // netns dies -> the kernel deletes both veth ends, no detach
  for (int i = 0; i < 100 && host_link_exists(ad.host_veth); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_FALSE(host_link_exists(ad.host_veth));
  Attachment an = net.attach({container_id(3), "next", {}, {}}, next.pid());
  EXPECT_EQ(an.ip, ad.ip);  // the dead one's address, free again
  std::vector<std::string> names;
  for (const auto& h : net.hosts()) names.push_back(h.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"live", "next"}));
  EXPECT_TRUE(host_link_exists(al.host_veth));
  Nft nft;
  EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(2)).empty());
  net.detach(container_id(1));
  net.detach(container_id(3));
}

TEST_F(NetTest, HostPortConflictFailsAndLeavesNothingBehind) {
  Network net = make_network();
  NetnsChild& a = new_child();
  NetnsChild& b = new_child();
  uint16_t hp = pick_free_host_port("tcp", "");
  net.attach({container_id(1), "a", {parse_port_mapping(std::to_string(hp) + ":80")}, {}}, a.pid());
  EXPECT_THROW(
      net.attach({container_id(2), "b", {parse_port_mapping(std::to_string(hp) + ":81")}, {}}, b.pid()),
      Error);
  EXPECT_FALSE(host_link_exists("mctr" + container_id(2).substr(0, 8)));
  EXPECT_EQ(look_inside(b.pid()).eth0_index, 0);
  EXPECT_EQ(net.hosts().size(), 1u);

  // A port a host process listens on is refused too.
  UniqueFd busy = tcp_listener(0, 0);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(busy.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::string spec = std::to_string(ntohs(addr.sin_port)) + ":80";
  EXPECT_THROW(net.attach({container_id(3), "c", {parse_port_mapping(spec)}, {}}, b.pid()), Error);
  net.detach(container_id(1));
}

TEST_F(NetTest, FailedAttachUndoesEverything) {
  Network net = make_network();
  NetnsChild& c = new_child();
  pid_t gone = c.pid();
  c.stop();  // attach to a process that no longer exists
  EXPECT_THROW(net.attach({container_id(1), "x", {parse_port_mapping("80")}, {}}, gone), Error);
  EXPECT_FALSE(host_link_exists("mctr" + container_id(1).substr(0, 8)));
  EXPECT_TRUE(net.hosts().empty());
  Nft nft;
  EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(1)).empty());
  net.prune();
  EXPECT_FALSE(host_link_exists(opts_.bridge));
}

TEST_F(NetTest, SubnetOverlappingAHostRouteIsRefused) {
  // Make a host route in a test subnet (a bridge of ours with an address),
  // then ask for a network on the same subnet under another bridge name.
  const std::string other = "mtx" + std::to_string(::getpid() % 100000);
  Subnet taken = Subnet::parse(opts_.subnet);
  {
    NlSocket sk;
    ASSERT_TRUE(bridge_create(sk, other, "02:42:00:00:00:01"));
  }
  ScopeGuard rm([&] {
    NlSocket sk;
    link_delete(sk, other);
  });
  {
    NlSocket sk;
    addr_add(sk, link_index(sk, other), taken.gateway() + 1, taken.prefix_len);
  }
  Network net = make_network();
  NetnsChild& c = new_child();
  try {
    net.attach({container_id(1), "x", {}, {}}, c.pid());
    ADD_FAILURE() << "attach accepted a subnet that overlaps a host route";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overlaps"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(host_link_exists(opts_.bridge));
}

TEST_F(NetTest, TwentyParallelAttachesGetDistinctAddresses) {
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) new_child();
  std::vector<Attachment> atts(kCount);
  std::vector<std::string> errors(kCount);
  auto t0 = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kCount; ++i)
      threads.emplace_back([&, i] {
        try {
          Network net = make_network();  // one object per "minictr run"
          atts[i] = net.attach({container_id(i), "c" + std::to_string(i), {parse_port_mapping("80")}, {}},
                               children_[i]->pid());
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    for (auto& t : threads) t.join();
  }
  auto t1 = Clock::now();
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(errors[i], "") << "attach " << i;

  std::set<std::string> ips, host_ports;
  for (const auto& a : atts) {
    ips.insert(a.ip);
    host_ports.insert(std::to_string(a.ports.at(0).host_port));
    EXPECT_EQ(look_inside(children_[&a - atts.data()]->pid()).eth0_addrs,
              std::vector<std::string>{a.ip + "/24"});
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(host_ports.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(make_network().hosts().size(), static_cast<size_t>(kCount));

  auto t2 = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kCount; ++i) threads.emplace_back([&, i] { make_network().detach(container_id(i)); });
    for (auto& t : threads) t.join();
  }
  auto t3 = Clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("[ timing ] %d parallel attaches: %.1f ms (%.1f ms each); detaches: %.1f ms (%.1f ms each)\n",
              kCount, ms(t1 - t0), ms(t1 - t0) / kCount, ms(t3 - t2), ms(t3 - t2) / kCount);
  NlSocket sk;
  for (const auto& a : atts) EXPECT_EQ(link_index(sk, a.host_veth), 0);
  Nft nft;
  for (int i = 0; i < kCount; ++i) EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(i)).empty());
}

// Attach and detach one after the other (as `run --rm` does): each detach
// gives back everything, so every round gets the same (lowest) address and
// leaves no veth or rule. (How long it takes is bench/net's business.)
TEST_F(NetTest, SequentialAttachDetachGivesEverythingBack) {
  Network net = make_network();
  constexpr int kRounds = 10;
  const std::string first_ip = format_ipv4(Subnet::parse(opts_.subnet).gateway() + 1);
  NlSocket sk;
  Nft nft;
  for (int i = 0; i < kRounds; ++i) {
    NetnsChild& c = new_child();
    Attachment a = net.attach({container_id(i), "t", {parse_port_mapping("80")}, {}}, c.pid());
    EXPECT_EQ(a.ip, first_ip) << "round " << i;
    net.detach(container_id(i));
    EXPECT_EQ(link_index(sk, a.host_veth), 0) << "round " << i;
    EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(i)).empty()) << "round " << i;
    EXPECT_TRUE(net.hosts().empty()) << "round " << i;
  }
}

TEST_F(NetTest, PortRangeMapsEachPortWithItsOwnDnatRule) {
  Network net = make_network();
  NetnsChild& c = new_child();
  // Two consecutive free host ports (the kernel's pick and the next one).
  uint16_t hp = 0;
  for (int tries = 0; tries < 20 && hp == 0; ++tries) {
    uint16_t p = pick_free_host_port("tcp", "");
    try {
      check_host_port_free({"", static_cast<uint16_t>(p + 1), 80, "tcp", 0});
      hp = p;
    } catch (const Error&) {
    }
  }
  ASSERT_NE(hp, 0);
  const std::string spec = std::to_string(hp) + "-" + std::to_string(hp + 1) + ":80-81";
  Attachment a = net.attach({container_id(1), "r", parse_port_mappings(spec), {}}, c.pid());
  ASSERT_EQ(a.ports.size(), 2u);
  UniqueFd l80 = tcp_listener(c.pid(), 80), l81 = tcp_listener(c.pid(), 81);
  Probe p0 = tcp_probe(0, "127.0.0.1", hp, l80.get());
  EXPECT_EQ(p0.received, "hello") << hp << " -> 80";
  Probe p1 = tcp_probe(0, "127.0.0.1", hp + 1, l81.get());
  EXPECT_EQ(p1.received, "hello") << hp + 1 << " -> 81";
  Nft nft;
  EXPECT_EQ(rules_tagged(nft, opts_.table, container_id(1)).size(), 2u);
  net.detach(container_id(1));
  EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(1)).empty());
}

TEST_F(NetTest, HostRangeWithOneContainerPortSkipsBusyPorts) {
  Network net = make_network();
  NetnsChild& a = new_child();
  NetnsChild& b = new_child();
  NetnsChild& d = new_child();
  // A host process listens on the first port of the range.
  UniqueFd busy = tcp_listener(0, 0);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(busy.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t first = ntohs(addr.sin_port);
  try {
    check_host_port_free({"", static_cast<uint16_t>(first + 1), 80, "tcp", 0});
  } catch (const Error&) {
    GTEST_SKIP() << "port " << first + 1 << " is busy on this host";
  }
  const std::string spec = std::to_string(first) + "-" + std::to_string(first + 1) + ":80";
  Attachment aa = net.attach({container_id(1), "a", {parse_port_mapping(spec)}, {}}, a.pid());
  ASSERT_EQ(aa.ports.size(), 1u);
  EXPECT_EQ(aa.ports[0].host_port, first + 1) << "the busy first port must be skipped";
  EXPECT_EQ(aa.ports[0].host_port_end, 0);
  UniqueFd l = tcp_listener(a.pid(), 80);
  EXPECT_EQ(tcp_probe(0, "127.0.0.1", first + 1, l.get()).received, "hello");
  // Both ports are now taken (host process, container a): the range is full.
  try {
    net.attach({container_id(2), "b", {parse_port_mapping(spec)}, {}}, b.pid());
    ADD_FAILURE() << "a full range was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no free host port in " + spec + "/tcp");
  }
  EXPECT_FALSE(host_link_exists("mctr" + container_id(2).substr(0, 8)));
  // Once the host process goes away its port is free again.
  busy.reset();
  Attachment ad = net.attach({container_id(3), "d", {parse_port_mapping(spec)}, {}}, d.pid());
  EXPECT_EQ(ad.ports[0].host_port, first);
  net.detach(container_id(1));
  net.detach(container_id(3));
}

// IPv6 TCP: a listener on [::]:port in the netns of `pid`, and a client
// from the netns of `from_pid` (host when 0) that sends "hello6"; returns
// what the listener received ("" when nothing arrived).
UniqueFd tcp6_listener(pid_t pid, uint16_t port) {
  UniqueFd fd;
  run_in_netns(pid, [&] {
    fd.reset(check_sys(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket"));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), "bind");
    check_sys(::listen(fd.get(), 4), "listen");
  });
  return fd;
}

std::string tcp6_send(pid_t from_pid, const std::string& ip, uint16_t port, int listener) {
  UniqueFd client;
  auto make = [&] { client.reset(check_sys(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket")); };
  if (from_pid > 0)
    run_in_netns(from_pid, make);
  else
    make();
  timeval tv{2, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect()
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  Ipv6 addr = parse_ipv6(ip);
  std::memcpy(&a.sin6_addr, addr.data(), 16);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return "";
  if (::send(client.get(), "hello6", 6, MSG_NOSIGNAL) != 6) return "";
  pollfd pl{listener, POLLIN, 0};
  if (::poll(&pl, 1, 2000) != 1) return "";
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return "";
  pollfd pc{conn.get(), POLLIN, 0};
  if (::poll(&pc, 1, 2000) != 1) return "";
  char buf[16];
  ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST_F(NetTest, Ipv6AddressRouteAndPublishedPort) {
  char subnet6[64];
  std::snprintf(subnet6, sizeof subnet6, "fd00:6d63:7472:%x::/64",
                static_cast<unsigned>(::getpid()) & 0xffff);
  opts_.subnet6 = subnet6;
  // attach turns on IPv6 forwarding; give the host its setting back.
  const std::string fwd6_path = "/proc/sys/net/ipv6/conf/all/forwarding";
  const std::string fwd6 = fs::trim(fs::read_file(fwd6_path));
  ScopeGuard restore_fwd6([&] { fs::write_file(fwd6_path, fwd6); });
  Network net = make_network();
  NetnsChild& a = new_child();
  NetnsChild& b = new_child();
  uint16_t hp = pick_free_host_port("tcp", "");
  Attachment aa =
      net.attach({container_id(1), "a6", {parse_port_mapping(std::to_string(hp) + ":80")}, {}}, a.pid());
  Attachment ab = net.attach({container_id(2), "b6", {}, {}}, b.pid());
  const Subnet6 s6 = Subnet6::parse(subnet6);
  EXPECT_EQ(aa.gateway6, format_ipv6(s6.gateway()));
  EXPECT_EQ(aa.ip6, format_ipv6(s6.host(2)));
  EXPECT_EQ(ab.ip6, format_ipv6(s6.host(3)));
  EXPECT_EQ(aa.prefix_len6, 64);

  std::vector<std::string> addrs;
  std::string gw6;
  run_in_netns(a.pid(), [&] {
    NlSocket sk;
    addrs = addr_list6(sk, link_index(sk, "eth0"));
    gw6 = default_gateway6(sk);
  });
  EXPECT_EQ(addrs, std::vector<std::string>{aa.ip6 + "/64"});
  EXPECT_EQ(gw6, aa.gateway6);

  // Right after attach, with no waiting: NODAD made the addresses usable.
  UniqueFd l = tcp6_listener(a.pid(), 80);
  EXPECT_EQ(tcp6_send(b.pid(), aa.ip6, 80, l.get()), "hello6") << "container to container over IPv6";
  EXPECT_EQ(tcp6_send(0, aa.ip6, 80, l.get()), "hello6") << "host to container over IPv6";
  // The published port on a host IPv6 address (the bridge's), through ip6 DNAT.
  EXPECT_EQ(tcp6_send(0, aa.gateway6, hp, l.get()), "hello6") << "[" << aa.gateway6 << "]:" << hp;
  EXPECT_EQ(tcp6_send(b.pid(), aa.gateway6, hp, l.get()), "hello6") << "hairpin over IPv6";

  Nft nft;
  EXPECT_EQ(rules_tagged(nft, opts_.table, container_id(1), Family::kIp6).size(), 1u);
  net.detach(container_id(1));
  EXPECT_TRUE(rules_tagged(nft, opts_.table, container_id(1), Family::kIp6).empty());
  net.detach(container_id(2));
  net.prune();
  EXPECT_FALSE(nft.table_exists(opts_.table, Family::kIp6));
}

}  // namespace
}  // namespace mctr::net::testing
