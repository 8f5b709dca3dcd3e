// rtnetlink by hand: what `ip link`, `ip addr` and `ip route` do. The
// message format and the send/receive loop are in nlmsg.h; here are the
// requests: RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK with struct ifinfomsg,
// RTM_NEWADDR / RTM_GETADDR with ifaddrmsg, RTM_NEWROUTE / RTM_GETROUTE with
// rtmsg.
#include "linux/net/netlink.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>

#include "linux/net/nlmsg.h"
#include "util/error.h"

namespace mctr::net {

namespace {

using nl::Attrs;
using nl::fixed_header;
using nl::Message;

// ---------------------------------------------------------------------------
// Talking to the kernel

// "RTM_NEWLINK": what a request is, for "no answer" errors.
std::string name_of(const Message& msg) {
  switch (msg.type()) {
    case RTM_NEWLINK:
      return "RTM_NEWLINK";
    case RTM_DELLINK:
      return "RTM_DELLINK";
    case RTM_GETLINK:
      return "RTM_GETLINK";
    case RTM_SETLINK:
      return "RTM_SETLINK";
    case RTM_NEWADDR:
      return "RTM_NEWADDR";
    case RTM_GETADDR:
      return "RTM_GETADDR";
    case RTM_NEWROUTE:
      return "RTM_NEWROUTE";
    case RTM_GETROUTE:
      return "RTM_GETROUTE";
    default:
      return "NETLINK_ROUTE message " + std::to_string(msg.type());
  }
}

using nl::error_of;

// Send a request and wait for its ACK. Returns 0 or the kernel's errno, for
// the caller to decide which errors mean "already done". Answers before the
// ACK (the RTM_NEWLINK describing a link, for RTM_GETLINK) go to on_answer.
int request(NlSocket& sk, Message& msg, const std::function<void(const nlmsghdr&)>& on_answer = nullptr) {
  // Without NLM_F_ACK a request that works gets no answer at all.
  msg.add_flags(NLM_F_ACK);
  const std::string what = name_of(msg);
  const uint32_t seq = sk.send(msg, what);
  int err = 0;
  nl::read_answers(sk, what, [&](const nlmsghdr& h) {
    if (h.nlmsg_seq != seq) return false;  // left over from an earlier request
    if (h.nlmsg_type == NLMSG_ERROR) {
      err = error_of(h);
      return true;
    }
    if (on_answer) on_answer(h);
    return false;
  });
  return err;
}

// Send a dump request (`request_name` for errors) and collect parse() of
// each answer, skipping those it returns nullopt for. An interrupted dump
// starts over (nl::dump), so nothing is missed or counted twice.
template <typename T>
std::vector<T> dump(NlSocket& sk, Message& msg, const char* request_name,
                    const std::function<std::optional<T>(const nlmsghdr&)>& parse) {
  std::vector<T> out;
  int err = nl::dump(
      sk, msg, request_name, [&] { out.clear(); },
      [&](const nlmsghdr& h) {
        if (auto v = parse(h)) out.push_back(std::move(*v));
      });
  if (err) throw SysError(request_name, "dump", err);
  return out;
}

// ---------------------------------------------------------------------------
// Links

using Mac = std::array<uint8_t, 6>;

Mac parse_mac(const std::string& text) {
  Mac mac{};
  int end = 0;
  if (std::sscanf(text.c_str(), "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &mac[0], &mac[1], &mac[2], &mac[3],
                  &mac[4], &mac[5], &end) != 6 ||
      static_cast<size_t>(end) != text.size())
    throw Error("invalid MAC address '" + text + "'");
  return mac;
}

// "02:42:0a:58:00:02"; "" for a link without a hardware address.
std::string format_mac(const rtattr* a) {
  std::string out;
  if (!a) return out;
  const auto* b = static_cast<const uint8_t*>(RTA_DATA(a));
  for (size_t i = 0; i < RTA_PAYLOAD(a); ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i ? ":%02x" : "%02x", b[i]);
    out += hex;
  }
  return out;
}

struct Link {
  int index = 0;
  std::string mac;
};

// "ip link show NAME": RTM_GETLINK by name. nullopt if there is no such link.
std::optional<Link> get_link(NlSocket& sk, const std::string& name) {
  Message msg(RTM_GETLINK, 0, ifinfomsg{});
  msg.put_string(IFLA_IFNAME, name);
  std::optional<Link> link;
  int err = request(sk, msg, [&](const nlmsghdr& h) {
    const auto* ifi = fixed_header<ifinfomsg>(h);
    if (h.nlmsg_type != RTM_NEWLINK || !ifi) return;
    link = Link{ifi->ifi_index, format_mac(Attrs(h, sizeof *ifi).get(IFLA_ADDRESS))};
  });
  if (err == ENODEV) return std::nullopt;
  if (err) throw SysError("RTM_GETLINK", name, err);
  return link;
}

// "ip link set NAME up|down". ifi_change says which flags to change,
// ifi_flags their new values. Returns 0 or the errno.
int set_up_flag(NlSocket& sk, const std::string& name, bool up) {
  ifinfomsg ifi{};
  ifi.ifi_change = IFF_UP;
  ifi.ifi_flags = up ? IFF_UP : 0;
  Message msg(RTM_SETLINK, 0, ifi);
  msg.put_string(IFLA_IFNAME, name);  // ifi_index 0: the kernel looks the link up by name
  return request(sk, msg);
}

}  // namespace

NlSocket::NlSocket() : nl::Socket(NETLINK_ROUTE, "NETLINK_ROUTE") {
  // Strict checking (Linux 4.20; iproute2 asks for it too): the kernel then
  // applies the filters of a dump request, such as the interface index of
  // RTM_GETADDR, instead of sending the addresses of every interface on the
  // host, which grew with each container on a bridge. An older kernel
  // refuses the option and dumps everything: the callers filter as well.
  const int on = 1;
  ::setsockopt(fd(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on);
}

int link_index(NlSocket& sk, const std::string& name) {
  std::optional<Link> link = get_link(sk, name);
  return link ? link->index : 0;
}

std::vector<std::string> link_names(NlSocket& sk) {
  Message msg(RTM_GETLINK, 0, ifinfomsg{});  // AF_UNSPEC: every link
  return dump<std::string>(sk, msg, "RTM_GETLINK", [](const nlmsghdr& h) -> std::optional<std::string> {
    if (h.nlmsg_type != RTM_NEWLINK) return std::nullopt;
    return Attrs(h, sizeof(ifinfomsg)).string(IFLA_IFNAME);
  });
}

bool link_delete(NlSocket& sk, const std::string& name) {
  Message msg(RTM_DELLINK, 0, ifinfomsg{});
  msg.put_string(IFLA_IFNAME, name);
  int err = request(sk, msg);
  if (err == ENODEV) return false;  // also when it went with its veth peer's netns meanwhile
  if (err) throw SysError("RTM_DELLINK", name, err);
  return true;
}

void link_set_up(NlSocket& sk, const std::string& name) {
  int err = set_up_flag(sk, name, true);
  if (err == ENODEV) throw Error("interface " + name + " not found");
  if (err) throw SysError("RTM_SETLINK", name + " up", err);
}

bool link_set_down(NlSocket& sk, const std::string& name) {
  int err = set_up_flag(sk, name, false);
  if (err == ENODEV) return false;
  if (err) throw SysError("RTM_SETLINK", name + " down", err);
  return true;
}

std::string link_mac(NlSocket& sk, const std::string& name) {
  std::optional<Link> link = get_link(sk, name);
  if (!link) throw Error("interface " + name + " not found");
  return link->mac;
}

bool bridge_create(NlSocket& sk, const std::string& name, const std::string& mac) {
  const Mac lladdr = parse_mac(mac);
  ifinfomsg ifi{};
  ifi.ifi_change = IFF_UP;  // created UP
  ifi.ifi_flags = IFF_UP;
  // NLM_F_EXCL: fail with EEXIST rather than modify an existing link.
  Message msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifi);
  msg.put_string(IFLA_IFNAME, name);
  // A bridge without a fixed address takes the lowest MAC of its ports, so
  // the gateway's MAC would change under the containers' ARP caches.
  msg.put(IFLA_ADDRESS, lladdr.data(), lladdr.size());
  msg.nested(IFLA_LINKINFO, [&] { msg.put_string(IFLA_INFO_KIND, "bridge"); });
  int err = request(sk, msg);
  if (err == EEXIST) return false;
  if (err) throw SysError("RTM_NEWLINK", name, err);
  return true;
}

void veth_create(NlSocket& sk, const std::string& host_name, int bridge_index, const std::string& peer_name,
                 const std::string& peer_mac, pid_t netns_pid) {
  const Mac lladdr = parse_mac(peer_mac);
  ifinfomsg ifi{};
  ifi.ifi_change = IFF_UP;  // the host end: UP, and a port of the bridge, at once
  ifi.ifi_flags = IFF_UP;
  Message msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifi);
  msg.put_string(IFLA_IFNAME, host_name);
  msg.put_u32(IFLA_MASTER, static_cast<uint32_t>(bridge_index));
  msg.nested(IFLA_LINKINFO, [&] {
    msg.put_string(IFLA_INFO_KIND, "veth");
    msg.nested(IFLA_INFO_DATA, [&] {
      // The peer is described like a link of its own, as in an RTM_NEWLINK
      // message: its ifinfomsg (all zero: created down) and then its
      // attributes, all inside VETH_INFO_PEER.
      msg.nested(VETH_INFO_PEER, [&] {
        msg.append_struct(ifinfomsg{});
        msg.put_string(IFLA_IFNAME, peer_name);
        msg.put(IFLA_ADDRESS, lladdr.data(), lladdr.size());
        // The kernel creates the peer directly inside the netns of this
        // process, so "eth0" never clashes with the host's.
        msg.put_u32(IFLA_NET_NS_PID, static_cast<uint32_t>(netns_pid));
      });
    });
  });
  int err = request(sk, msg);
  if (err) throw SysError("RTM_NEWLINK", host_name + " <-> " + peer_name, err);
}

// ---------------------------------------------------------------------------
// Addresses

namespace {

// "ip addr add ADDR/LEN dev IFINDEX": `addr` is 4 or 16 bytes (network order).
// Returns 0 or the errno.
int add_address(NlSocket& sk, int family, int ifindex, const void* addr, size_t addr_len, int prefix_len,
                uint8_t flags, const uint32_t* broadcast) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix_len);
  // Flags up to 0x80 fit this u8 (IFA_F_NODAD is 0x02); higher ones need
  // the u32 attribute IFA_FLAGS, which the kernel prefers when present.
  ifa.ifa_flags = flags;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  Message msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifa);
  // IFA_LOCAL is the interface's own address, IFA_ADDRESS the far end's on a
  // point-to-point link: on any other link, the same.
  msg.put(IFA_LOCAL, addr, addr_len);
  msg.put(IFA_ADDRESS, addr, addr_len);
  if (broadcast) msg.put(IFA_BROADCAST, broadcast, sizeof *broadcast);
  return request(sk, msg);
}

std::string on_ifindex(const std::string& addr, int prefix_len, int ifindex) {
  return addr + "/" + std::to_string(prefix_len) + " on ifindex " + std::to_string(ifindex);
}

// The addresses of one family on an interface as "addr/len" (global scope
// only for IPv6: every v6 interface also has an fe80:: link-local address).
std::vector<std::string> addr_list_of(NlSocket& sk, int ifindex, int family) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(family);   // the kernel dumps this family only...
  ifa.ifa_index = static_cast<uint32_t>(ifindex);  // ...of this interface (strict checking, see NlSocket)
  Message msg(RTM_GETADDR, 0, ifa);
  // Filtered here too, for a kernel without strict checking.
  return dump<std::string>(sk, msg, "RTM_GETADDR", [&](const nlmsghdr& h) -> std::optional<std::string> {
    const auto* a = fixed_header<ifaddrmsg>(h);
    if (h.nlmsg_type != RTM_NEWADDR || !a || a->ifa_family != family) return std::nullopt;
    if (static_cast<int>(a->ifa_index) != ifindex) return std::nullopt;
    if (family == AF_INET6 && a->ifa_scope != RT_SCOPE_UNIVERSE) return std::nullopt;
    Attrs attrs(h, sizeof *a);
    const size_t len = family == AF_INET ? 4 : 16;
    // The address itself is IFA_LOCAL; IPv6 sends only IFA_ADDRESS.
    const void* addr = attrs.bytes(IFA_LOCAL, len);
    if (!addr) addr = attrs.bytes(IFA_ADDRESS, len);
    if (!addr) return std::nullopt;
    char text[INET6_ADDRSTRLEN];
    ::inet_ntop(family, addr, text, sizeof text);
    return std::string(text) + "/" + std::to_string(a->ifa_prefixlen);
  });
}

}  // namespace

bool addr_add(NlSocket& sk, int ifindex, uint32_t addr, int prefix_len) {
  const uint32_t local = htonl(addr);
  // With a prefix, the kernel adds the subnet route (10.88.0.0/16 dev X) itself.
  Subnet net{addr, prefix_len};
  net.network &= net.mask();
  const uint32_t broadcast = htonl(net.broadcast());
  int err = add_address(sk, AF_INET, ifindex, &local, sizeof local, prefix_len, 0, &broadcast);
  if (err == EEXIST) return false;
  if (err) throw SysError("RTM_NEWADDR", on_ifindex(format_ipv4(addr), prefix_len, ifindex), err);
  return true;
}

std::vector<std::string> addr_list(NlSocket& sk, int ifindex) { return addr_list_of(sk, ifindex, AF_INET); }

bool addr_add6(NlSocket& sk, int ifindex, const Ipv6& addr, int prefix_len) {
  int err = add_address(sk, AF_INET6, ifindex, addr.data(), addr.size(), prefix_len, IFA_F_NODAD, nullptr);
  if (err == EEXIST) return false;
  if (err) throw SysError("RTM_NEWADDR", on_ifindex(format_ipv6(addr), prefix_len, ifindex), err);
  return true;
}

std::vector<std::string> addr_list6(NlSocket& sk, int ifindex) { return addr_list_of(sk, ifindex, AF_INET6); }

// ---------------------------------------------------------------------------
// Routes

namespace {

// "ip route add default via GATEWAY dev IFINDEX" for either family: `gateway`
// is 4 or 16 bytes (network order).
void route_add_default_via(NlSocket& sk, int family, const void* gateway, size_t gateway_len, int ifindex,
                           const std::string& gateway_text) {
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(family);
  rtm.rtm_dst_len = 0;  // 0.0.0.0/0 or ::/0: no RTA_DST at all
  rtm.rtm_table = RT_TABLE_MAIN;
  rtm.rtm_protocol = RTPROT_STATIC;  // added by an administrator ("proto static")
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  rtm.rtm_type = RTN_UNICAST;
  Message msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, rtm);
  msg.put(RTA_GATEWAY, gateway, gateway_len);
  msg.put_u32(RTA_OIF, static_cast<uint32_t>(ifindex));
  int err = request(sk, msg);
  if (err) throw SysError("RTM_NEWROUTE", "default via " + gateway_text, err);
}

// An address of either family, network order: IPv4 in the first 4 bytes.
using AddrBytes = std::array<uint8_t, 16>;

// A route as the kernel dumps it.
struct Route {
  int dst_len = 0;
  AddrBytes dst{};  // all zero without RTA_DST (the default route)
  bool has_gateway = false;
  AddrBytes gateway{};
  int ifindex = 0;
};

// The routes of the main table of `family` ("ip route show table main").
std::vector<Route> main_routes(NlSocket& sk, int family) {
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(family);
  Message msg(RTM_GETROUTE, 0, rtm);
  const size_t addr_len = family == AF_INET ? 4 : 16;
  return dump<Route>(sk, msg, "RTM_GETROUTE", [&](const nlmsghdr& h) -> std::optional<Route> {
    const auto* r = fixed_header<rtmsg>(h);
    if (h.nlmsg_type != RTM_NEWROUTE || !r || r->rtm_family != family) return std::nullopt;
    Attrs attrs(h, sizeof *r);
    // The dump holds every table (local, main...). rtm_table is a u8: table
    // ids above 255 are only in RTA_TABLE.
    if (attrs.u32(RTA_TABLE).value_or(r->rtm_table) != RT_TABLE_MAIN) return std::nullopt;

    Route route;
    route.dst_len = r->rtm_dst_len;
    if (const void* dst = attrs.bytes(RTA_DST, addr_len)) std::memcpy(route.dst.data(), dst, addr_len);
    // The nexthop: RTA_OIF and RTA_GATEWAY, or for a multipath route a list
    // of struct rtnexthop in RTA_MULTIPATH, each followed by its own
    // attributes; only the first is used.
    Attrs nexthop = attrs;
    route.ifindex = static_cast<int>(attrs.u32(RTA_OIF).value_or(0));
    if (const rtattr* mp = attrs.get(RTA_MULTIPATH); mp && RTA_PAYLOAD(mp) >= sizeof(rtnexthop)) {
      const auto* nh = static_cast<const rtnexthop*>(RTA_DATA(mp));
      if (nh->rtnh_len >= sizeof(rtnexthop) && nh->rtnh_len <= RTA_PAYLOAD(mp)) {
        route.ifindex = nh->rtnh_ifindex;
        nexthop = Attrs(RTNH_DATA(nh), nh->rtnh_len - RTNH_LENGTH(0));
      }
    }
    if (const void* gw = nexthop.bytes(RTA_GATEWAY, addr_len)) {
      route.has_gateway = true;
      std::memcpy(route.gateway.data(), gw, addr_len);
    }
    return route;
  });
}

uint32_t ipv4_of(const AddrBytes& bytes) {  // the first 4 bytes, to host order
  uint32_t be;
  std::memcpy(&be, bytes.data(), sizeof be);
  return ntohl(be);
}

}  // namespace

void route_add_default(NlSocket& sk, uint32_t gateway, int ifindex) {
  const uint32_t gw = htonl(gateway);
  route_add_default_via(sk, AF_INET, &gw, sizeof gw, ifindex, format_ipv4(gateway));
}

void route_add_default6(NlSocket& sk, const Ipv6& gateway, int ifindex) {
  route_add_default_via(sk, AF_INET6, gateway.data(), gateway.size(), ifindex, format_ipv6(gateway));
}

std::string default_gateway6(NlSocket& sk) {
  for (const Route& r : main_routes(sk, AF_INET6))
    if (r.dst_len == 0 && r.has_gateway) return format_ipv6(r.gateway);
  return "";
}

std::vector<RouteV6> routes_v6(NlSocket& sk) {
  std::vector<RouteV6> out;
  for (const Route& r : main_routes(sk, AF_INET6)) out.push_back(RouteV6{r.dst, r.dst_len, r.ifindex});
  return out;
}

std::vector<RouteV4> routes_v4(NlSocket& sk) {
  std::vector<RouteV4> out;
  for (const Route& r : main_routes(sk, AF_INET)) {
    RouteV4 rv;
    rv.dst.prefix_len = r.dst_len;
    rv.dst.network = ipv4_of(r.dst) & rv.dst.mask();
    rv.gateway = r.has_gateway ? ipv4_of(r.gateway) : 0;
    rv.ifindex = r.ifindex;
    out.push_back(rv);
  }
  return out;
}

}  // namespace mctr::net
