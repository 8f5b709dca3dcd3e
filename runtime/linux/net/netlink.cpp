#include "linux/net/netlink.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <cstring>
#include <memory>

#include "util/error.h"

namespace mctr::net {

namespace {

// Owners for libnl objects (reference counted inside libnl; *_put drops ours).
struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using RoutePtr = std::unique_ptr<rtnl_route, RoutePut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

NlAddrPtr ipv4_addr(uint32_t addr, int prefix_len) {
  uint32_t be = htonl(addr);
  NlAddrPtr a(nl_addr_build(AF_INET, &be, sizeof be));
  if (!a) throw Error("nl_addr_build: out of memory");
  nl_addr_set_prefixlen(a.get(), prefix_len);
  return a;
}

NlAddrPtr ipv6_addr(const Ipv6& addr, int prefix_len) {
  NlAddrPtr a(nl_addr_build(AF_INET6, addr.data(), addr.size()));
  if (!a) throw Error("nl_addr_build: out of memory");
  nl_addr_set_prefixlen(a.get(), prefix_len);
  return a;
}

NlAddrPtr mac_addr(const std::string& mac) {
  nl_addr* a = nullptr;
  int err = nl_addr_parse(mac.c_str(), AF_LLC, &a);
  if (err < 0) throw_nl("nl_addr_parse", mac, err);
  return NlAddrPtr(a);
}

LinkPtr get_link(NlSocket& sk, const std::string& name) {
  rtnl_link* link = nullptr;
  int err = rtnl_link_get_kernel(sk.get(), 0, name.c_str(), &link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return nullptr;
  if (err < 0) throw_nl("rtnl_link_get_kernel", name, err);
  return LinkPtr(link);
}

}  // namespace

void throw_nl(const std::string& call, const std::string& what, int nl_err) {
  std::string msg = call;
  if (!what.empty()) msg += "(" + what + ")";
  throw Error(msg + ": " + nl_geterror(nl_err));
}

NlSocket::NlSocket() : sk_(nl_socket_alloc()) {
  if (!sk_) throw Error("nl_socket_alloc: out of memory");
  int err = nl_connect(sk_, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sk_);
    throw_nl("nl_connect", "NETLINK_ROUTE", err);
  }
}

NlSocket::~NlSocket() { nl_socket_free(sk_); }  // also closes the socket

int link_index(NlSocket& sk, const std::string& name) {
  LinkPtr link = get_link(sk, name);
  return link ? rtnl_link_get_ifindex(link.get()) : 0;
}

std::vector<std::string> link_names(NlSocket& sk) {
  nl_cache* raw = nullptr;
  int err = rtnl_link_alloc_cache(sk.get(), AF_UNSPEC, &raw);
  if (err < 0) throw_nl("rtnl_link_alloc_cache", "", err);
  CachePtr cache(raw);
  std::vector<std::string> names;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
    names.emplace_back(rtnl_link_get_name(reinterpret_cast<rtnl_link*>(o)));
  return names;
}

bool link_delete(NlSocket& sk, const std::string& name) {
  LinkPtr link = get_link(sk, name);
  if (!link) return false;
  int err = rtnl_link_delete(sk.get(), link.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;  // raced with its peer's netns dying
  if (err < 0) throw_nl("rtnl_link_delete", name, err);
  return true;
}

void link_set_up(NlSocket& sk, const std::string& name) {
  LinkPtr link = get_link(sk, name);
  if (!link) throw Error("interface " + name + " not found");
  LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  int err = rtnl_link_change(sk.get(), link.get(), change.get(), 0);
  if (err < 0) throw_nl("rtnl_link_change(up)", name, err);
}

bool link_set_down(NlSocket& sk, const std::string& name) {
  LinkPtr link = get_link(sk, name);
  if (!link) return false;
  LinkPtr change(rtnl_link_alloc());
  rtnl_link_unset_flags(change.get(), IFF_UP);
  int err = rtnl_link_change(sk.get(), link.get(), change.get(), 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) throw_nl("rtnl_link_change(down)", name, err);
  return true;
}

std::string link_mac(NlSocket& sk, const std::string& name) {
  LinkPtr link = get_link(sk, name);
  if (!link) throw Error("interface " + name + " not found");
  char buf[64];
  return nl_addr2str(rtnl_link_get_addr(link.get()), buf, sizeof buf);
}

bool bridge_create(NlSocket& sk, const std::string& name, const std::string& mac) {
  LinkPtr br(rtnl_link_bridge_alloc());
  if (!br) throw Error("rtnl_link_bridge_alloc: out of memory");
  rtnl_link_set_name(br.get(), name.c_str());
  // A bridge without a fixed address takes the lowest MAC of its ports, so
  // the gateway's MAC would change under the containers' ARP caches.
  NlAddrPtr lladdr = mac_addr(mac);
  rtnl_link_set_addr(br.get(), lladdr.get());
  rtnl_link_set_flags(br.get(), IFF_UP);
  int err = rtnl_link_add(sk.get(), br.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) return false;
  if (err < 0) throw_nl("rtnl_link_add(bridge)", name, err);
  return true;
}

void veth_create(NlSocket& sk, const std::string& host_name, int bridge_index, const std::string& peer_name,
                 const std::string& peer_mac, pid_t netns_pid) {
  LinkPtr veth(rtnl_link_veth_alloc());
  if (!veth) throw Error("rtnl_link_veth_alloc: out of memory");
  rtnl_link_set_name(veth.get(), host_name.c_str());
  rtnl_link_set_master(veth.get(), bridge_index);
  rtnl_link_set_flags(veth.get(), IFF_UP);

  // The peer is owned by `veth` (freed with it); get_peer adds a reference.
  LinkPtr peer(rtnl_link_veth_get_peer(veth.get()));
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  NlAddrPtr lladdr = mac_addr(peer_mac);
  rtnl_link_set_addr(peer.get(), lladdr.get());
  // IFLA_NET_NS_PID on the peer: the kernel creates it directly inside the
  // container's network namespace, so "eth0" never clashes with the host's.
  rtnl_link_set_ns_pid(peer.get(), netns_pid);

  int err = rtnl_link_add(sk.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) throw_nl("rtnl_link_add(veth)", host_name + " <-> " + peer_name, err);
}

bool addr_add(NlSocket& sk, int ifindex, uint32_t addr, int prefix_len) {
  AddrPtr a(rtnl_addr_alloc());
  if (!a) throw Error("rtnl_addr_alloc: out of memory");
  NlAddrPtr local = ipv4_addr(addr, prefix_len);
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_family(a.get(), AF_INET);
  rtnl_addr_set_local(a.get(), local.get());  // also sets the prefix length
  // With a prefix, the kernel adds the subnet route (10.88.0.0/16 dev X) itself.
  Subnet net{0, prefix_len};
  net.network = addr & net.mask();
  NlAddrPtr brd = ipv4_addr(net.broadcast(), 32);
  rtnl_addr_set_broadcast(a.get(), brd.get());
  int err = rtnl_addr_add(sk.get(), a.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) return false;
  if (err < 0) throw_nl("rtnl_addr_add", format_ipv4(addr) + "/" + std::to_string(prefix_len), err);
  return true;
}

// The addresses of one family on an interface (global scope only for IPv6:
// every v6 interface also has an fe80:: link-local address).
static std::vector<std::string> addr_list_of(NlSocket& sk, int ifindex, int family) {
  nl_cache* raw = nullptr;
  int err = rtnl_addr_alloc_cache(sk.get(), &raw);
  if (err < 0) throw_nl("rtnl_addr_alloc_cache", "", err);
  CachePtr cache(raw);
  std::vector<std::string> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != family) continue;
    if (family == AF_INET6 && rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE) continue;
    char buf[64];
    out.emplace_back(nl_addr2str(rtnl_addr_get_local(a), buf, sizeof buf));
  }
  return out;
}

std::vector<std::string> addr_list(NlSocket& sk, int ifindex) { return addr_list_of(sk, ifindex, AF_INET); }

// "ip route add default via GATEWAY dev IFINDEX" for either family: `dst`
// is the family's 0/0, `gw` the gateway as a host address.
static void route_add_default_via(NlSocket& sk, int family, NlAddrPtr dst, NlAddrPtr gw, int ifindex,
                                  const std::string& gateway_text) {
  RoutePtr route(rtnl_route_alloc());
  if (!route) throw Error("rtnl_route_alloc: out of memory");
  rtnl_route_set_family(route.get(), static_cast<uint8_t>(family));
  rtnl_route_set_dst(route.get(), dst.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);

  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
  if (!nh) throw Error("rtnl_route_nh_alloc: out of memory");
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(route.get(), nh);

  int err = rtnl_route_add(sk.get(), route.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) throw_nl("rtnl_route_add", "default via " + gateway_text, err);
}

void route_add_default(NlSocket& sk, uint32_t gateway, int ifindex) {
  route_add_default_via(sk, AF_INET, ipv4_addr(0, 0), ipv4_addr(gateway, 32), ifindex, format_ipv4(gateway));
}

bool addr_add6(NlSocket& sk, int ifindex, const Ipv6& addr, int prefix_len) {
  AddrPtr a(rtnl_addr_alloc());
  if (!a) throw Error("rtnl_addr_alloc: out of memory");
  NlAddrPtr local = ipv6_addr(addr, prefix_len);
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_family(a.get(), AF_INET6);
  rtnl_addr_set_local(a.get(), local.get());
  rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
  int err = rtnl_addr_add(sk.get(), a.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) return false;
  if (err < 0) throw_nl("rtnl_addr_add", format_ipv6(addr) + "/" + std::to_string(prefix_len), err);
  return true;
}

std::vector<std::string> addr_list6(NlSocket& sk, int ifindex) { return addr_list_of(sk, ifindex, AF_INET6); }

void route_add_default6(NlSocket& sk, const Ipv6& gateway, int ifindex) {
  route_add_default_via(sk, AF_INET6, ipv6_addr(Ipv6{}, 0), ipv6_addr(gateway, 128), ifindex,
                        format_ipv6(gateway));
}

// Call f(route) for every route of the main table of `family` (AF_INET/AF_INET6).
template <typename F>
static void for_each_main_route(NlSocket& sk, int family, F f) {
  nl_cache* raw = nullptr;
  int err = rtnl_route_alloc_cache(sk.get(), family, 0, &raw);
  if (err < 0) throw_nl("rtnl_route_alloc_cache", "", err);
  CachePtr cache(raw);
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) == RT_TABLE_MAIN && rtnl_route_get_family(r) == family) f(r);
  }
}

std::string default_gateway6(NlSocket& sk) {
  std::string out;
  for_each_main_route(sk, AF_INET6, [&](rtnl_route* r) {
    nl_addr* dst = rtnl_route_get_dst(r);
    if (!out.empty() || (dst && nl_addr_get_prefixlen(dst) != 0) || rtnl_route_get_nnexthops(r) == 0) return;
    nl_addr* gw = rtnl_route_nh_get_gateway(rtnl_route_nexthop_n(r, 0));
    if (!gw || nl_addr_get_len(gw) != 16) return;
    Ipv6 a{};
    std::memcpy(a.data(), nl_addr_get_binary_addr(gw), 16);
    out = format_ipv6(a);
  });
  return out;
}

std::vector<RouteV6> routes_v6(NlSocket& sk) {
  std::vector<RouteV6> out;
  for_each_main_route(sk, AF_INET6, [&](rtnl_route* r) {
    RouteV6 rv;
    if (nl_addr* dst = rtnl_route_get_dst(r); dst && nl_addr_get_len(dst) == 16) {
      std::memcpy(rv.dst.data(), nl_addr_get_binary_addr(dst), 16);
      rv.prefix_len = static_cast<int>(nl_addr_get_prefixlen(dst));
    }
    if (rtnl_route_get_nnexthops(r) > 0) rv.ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, 0));
    out.push_back(rv);
  });
  return out;
}

std::vector<RouteV4> routes_v4(NlSocket& sk) {
  std::vector<RouteV4> out;
  for_each_main_route(sk, AF_INET, [&](rtnl_route* r) {
    RouteV4 rv;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (dst && nl_addr_get_len(dst) == 4) {
      uint32_t be;
      std::memcpy(&be, nl_addr_get_binary_addr(dst), 4);
      rv.dst.prefix_len = static_cast<int>(nl_addr_get_prefixlen(dst));
      rv.dst.network = ntohl(be) & rv.dst.mask();
    }
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      rv.ifindex = rtnl_route_nh_get_ifindex(nh);
      if (nl_addr* gw = rtnl_route_nh_get_gateway(nh); gw && nl_addr_get_len(gw) == 4) {
        uint32_t be;
        std::memcpy(&be, nl_addr_get_binary_addr(gw), 4);
        rv.gateway = ntohl(be);
      }
    }
    out.push_back(rv);
  });
  return out;
}

}  // namespace mctr::net
