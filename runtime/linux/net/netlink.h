// Links, addresses and routes through rtnetlink: the messages `ip link`,
// `ip addr` and `ip route` send, built by hand on a plain NETLINK_ROUTE
// socket (see netlink.cpp, and man 7 rtnetlink).
//
// A netlink socket talks to the network namespace it was *created* in. To
// configure a container's interfaces, open an NlSocket on a thread that has
// joined the container's netns (see netns.h); the socket stays bound to that
// namespace for its whole life.
//
// Failures throw SysError carrying the request, the object and the kernel's
// errno: "RTM_NEWLINK(minictr0): File exists".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "linux/net/ipv4.h"
#include "linux/net/ipv6.h"
#include "linux/net/nlmsg.h"

namespace mctr::net {

// A NETLINK_ROUTE socket (socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) in
// the calling thread's netns, with nlmsg.h's receive deadline.
class NlSocket : public nl::Socket {
 public:
  NlSocket();
};

// 0 when there is no such interface.
int link_index(NlSocket& sk, const std::string& name);
std::vector<std::string> link_names(NlSocket& sk);
// Delete an interface; false if it did not exist. Deleting one end of a veth
// pair deletes the other end too, wherever it lives.
bool link_delete(NlSocket& sk, const std::string& name);
void link_set_up(NlSocket& sk, const std::string& name);
bool link_set_down(NlSocket& sk, const std::string& name);  // false: no such link
std::string link_mac(NlSocket& sk, const std::string& name);

// Create a bridge (UP, with a fixed MAC so it doesn't change as ports come and
// go). Returns false if it already existed.
bool bridge_create(NlSocket& sk, const std::string& name, const std::string& mac);

// Create a veth pair: `host_name` enslaved to the bridge and UP in this netns,
// its peer created directly inside the netns of `netns_pid` as `peer_name`.
void veth_create(NlSocket& sk, const std::string& host_name, int bridge_index, const std::string& peer_name,
                 const std::string& peer_mac, pid_t netns_pid);

// Add addr/prefix_len to an interface. Returns false if it was already there.
bool addr_add(NlSocket& sk, int ifindex, uint32_t addr, int prefix_len);
// IPv4 addresses of an interface, as "a.b.c.d/len".
std::vector<std::string> addr_list(NlSocket& sk, int ifindex);

void route_add_default(NlSocket& sk, uint32_t gateway, int ifindex);

// IPv6: add addr/prefix_len with IFA_F_NODAD, so the address is usable at
// once instead of staying "tentative" for ~1 s of Duplicate Address
// Detection (IPAM already guarantees it is unique on the bridge; a
// tentative address cannot be bound to or used as a source). False if it
// was already there.
bool addr_add6(NlSocket& sk, int ifindex, const Ipv6& addr, int prefix_len);
// Global (not link-local) IPv6 addresses of an interface, as "addr/len".
std::vector<std::string> addr_list6(NlSocket& sk, int ifindex);
void route_add_default6(NlSocket& sk, const Ipv6& gateway, int ifindex);
// The gateway of the IPv6 default route of the main table ("" if none).
std::string default_gateway6(NlSocket& sk);

struct RouteV4 {
  Subnet dst;  // 0.0.0.0/0 for the default route
  uint32_t gateway = 0;
  int ifindex = 0;
};
// The IPv4 routes of the main table.
std::vector<RouteV4> routes_v4(NlSocket& sk);

struct RouteV6 {
  Ipv6 dst{};  // ::/0 for the default route
  int prefix_len = 0;
  int ifindex = 0;
};
// The IPv6 routes of the main table.
std::vector<RouteV6> routes_v6(NlSocket& sk);

}  // namespace mctr::net
