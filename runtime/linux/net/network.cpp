// Network: the steps of attaching a container, in order. The kernel work is
// in netlink.cpp (links, addresses, routes), nft.cpp (NAT rules), netns.cpp
// (entering the container's netns) and ipam.cpp (who has which address).
#include "linux/net/network.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "linux/net/balanced.h"
#include "linux/net/ipam.h"
#include "linux/net/ipv4.h"
#include "linux/net/netlink.h"
#include "linux/net/netns.h"
#include "linux/net/nft.h"
#include "linux/net/ports.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/scope_guard.h"

namespace mctr::net {

namespace {

constexpr const char* kContainerIfname = "eth0";

// Names end up in interface names and in nft rule text: allow only a safe set.
void check_name(const char* what, const std::string& value, size_t max_len) {
  bool ok = !value.empty() && value.size() <= max_len;
  for (char c : value)
    ok = ok && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    throw Error(std::string("invalid ") + what + " '" + value + "' (1.." + std::to_string(max_len) +
                " of [A-Za-z0-9_.-])");
}

// Host side of the veth pair: "mctr" + the first 8 characters of the id
// (interface names are at most 15 characters).
std::string host_veth_name(const std::string& container_id) { return "mctr" + container_id.substr(0, 8); }

// A MAC derived from the IP (Docker does the same with 02:42:...): locally
// administered, unique on the bridge, and stable when an address is reused,
// so stale ARP entries of other containers stay correct.
std::string mac_for(uint32_t ip) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
                ip & 0xff);
  return buf;
}

void write_sysctl(const std::string& path, const std::string& value) {
  if (fs::trim(fs::read_file(path)) != value) fs::write_file(path, value);
}

void refuse_overlapping_routes(NlSocket& sk, const Subnet& subnet, const std::string& bridge) {
  for (const RouteV4& r : routes_v4(sk)) {
    if (r.dst.prefix_len == 0) continue;  // the default route overlaps everything
    if (r.dst.overlaps(subnet))
      throw Error("subnet " + subnet.cidr() + " for bridge " + bridge + " overlaps the host route " +
                  r.dst.cidr() + "; choose another one with MINICTR_SUBNET or \"bip\" in " +
                  settings_file().string());
  }
}

// "10.88.0.1/16" -> 10.88.0.0/16 (an interface address names its subnet).
Subnet subnet_of_address(const std::string& addr) {
  const auto slash = addr.find('/');
  Subnet s{parse_ipv4(addr.substr(0, slash)), std::stoi(addr.substr(slash + 1))};
  s.network &= s.mask();
  return s;
}

// The subnet of an existing bridge: the one of its first IPv4 address.
std::optional<Subnet> bridge_subnet(NlSocket& sk, int index) {
  for (const std::string& a : addr_list(sk, index)) return subnet_of_address(a);
  return std::nullopt;
}

// What a new bridge's subnet must not overlap: the host's routes (podman's,
// Docker's and libvirt's bridges have one each while up) and the addresses
// of every interface (a bridge that is down has no route, but its address
// would still clash once it comes up).
std::vector<Subnet> subnets_in_use(NlSocket& sk) {
  std::vector<Subnet> used;
  for (const RouteV4& r : routes_v4(sk))
    if (r.dst.prefix_len != 0) used.push_back(r.dst);
  for (const std::string& name : link_names(sk)) {
    const int index = link_index(sk, name);
    if (index == 0) continue;  // gone meanwhile
    for (const std::string& a : addr_list(sk, index)) used.push_back(subnet_of_address(a));
  }
  return used;
}

Subnet choose_free_subnet(NlSocket& sk, const std::vector<AddressPool>& pools, const std::string& bridge) {
  if (auto s = first_free_subnet(pools, subnets_in_use(sk))) return *s;
  throw Error("no free subnet for bridge " + bridge +
              " in the address pools (every candidate overlaps a host " +
              "route or address); set one with MINICTR_SUBNET or \"bip\" in " + settings_file().string());
}

// An interface that gets no IPv6 address gets no IPv6 at all, as Docker
// does since CVE-2024-32473. Left on, the kernel gives it a link-local
// address as it comes up: an IPv6 path between containers that nobody
// configured, and a duplicate-address probe and multicast-listener reports
// that the bridge floods to every other container at every start, so a
// start costs more the more containers run. No-op on a kernel without IPv6.
// One open: in a container's network namespace the lookup of a /proc/sys/net
// path compares one cached dentry per namespace (they all hang under one
// /proc/sys dentry with the same name).
void disable_ipv6(const std::string& ifname) {
  const std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd && errno == ENOENT) return;  // no IPv6 in this kernel
  if (!fd) throw_sys("open", path);
  if (::write(fd.get(), "1", 1) != 1) throw_sys("write", path);
}

// Inside the container's netns (called on the netns thread). ip6 is used
// when subnet6 is set.
std::string configure_container_side(uint32_t ip, const Subnet& subnet, const Ipv6& ip6,
                                     const std::optional<Subnet6>& subnet6, const std::string& ifname) {
  NlSocket sk;  // opened in the container's netns
  link_set_up(sk, "lo");
  int eth0 = link_index(sk, ifname);
  if (eth0 == 0) throw Error(ifname + " did not appear in the container's network namespace");
  addr_add(sk, eth0, ip, subnet.prefix_len);
  if (subnet6)
    addr_add6(sk, eth0, ip6, subnet6->prefix_len);  // NODAD: usable at once
  else
    disable_ipv6(ifname);  // this thread's /proc/sys/net is the container's
  link_set_up(sk, ifname);
  if (ifname == kContainerIfname) {  // a second network's interface adds only its subnet's route
    route_add_default(sk, subnet.gateway(), eth0);
    if (subnet6) route_add_default6(sk, subnet6->gateway(), eth0);
  }
  return link_mac(sk, ifname);
}

std::optional<Subnet6> parse_subnet6(const std::string& cidr) {
  if (cidr.empty()) return std::nullopt;
  return Subnet6::parse(cidr);
}

// The bridge's IPv6 side: IPv6 on (it may be off by default on new
// interfaces), the gateway address, forwarding.
void configure_bridge_ipv6(NlSocket& sk, const std::string& bridge, int index, const Subnet6& subnet6,
                           bool enable_forward) {
  const std::string conf = "/proc/sys/net/ipv6/conf/" + bridge;
  if (!std::filesystem::exists(conf))
    throw Error("MINICTR_SUBNET6 is set but this host has IPv6 disabled (no " + conf + ")");
  // The subnet must not overlap an IPv6 route of the host (other than the
  // bridge's own route from an earlier run).
  for (const RouteV6& r : routes_v6(sk)) {
    if (r.prefix_len == 0 || r.ifindex == index) continue;  // default route; our bridge
    if (subnet6.overlaps(r.dst, r.prefix_len))
      throw Error("IPv6 subnet " + subnet6.cidr() + " for bridge " + bridge + " overlaps the host route " +
                  format_ipv6(r.dst) + "/" + std::to_string(r.prefix_len) +
                  "; choose another one with MINICTR_SUBNET6");
  }
  write_sysctl(conf + "/disable_ipv6", "0");
  explain::step("netlink", "ip -6 addr add " + format_ipv6(subnet6.gateway()) + "/" +
                               std::to_string(subnet6.prefix_len) + " dev " + bridge + " nodad");
  addr_add6(sk, index, subnet6.gateway(), subnet6.prefix_len);
  // Route IPv6 between the bridge and the host. (With forwarding on, the
  // kernel ignores Router Advertisements on interfaces with accept_ra=1: a
  // host that learns its IPv6 default route from RAs needs accept_ra=2.)
  if (enable_forward) write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
}

// The host port a mapping will use, held by a socket added to `held`: as
// given, picked by the kernel (host_port 0), or the first free one of a
// "8080-8081:80" range. A port leased to another container counts as taken
// even when nothing holds it (its supervisor died and left the DNAT rule).
PortMapping reserve_host_port(const LeaseFile& lf, PortMapping p, std::vector<UniqueFd>& held) {
  if (p.host_port == 0) {
    std::vector<HeldPort> leased;  // kept bound until we return, so the kernel picks another
    for (;;) {
      HeldPort h = hold_host_port(p);
      PortMapping picked = p;
      picked.host_port = h.port;
      if (!lf.host_port_taken(picked)) {
        held.push_back(std::move(h.socket));
        return picked;
      }
      leased.push_back(std::move(h));
    }
  }
  if (p.host_port_end != 0) {
    const PortMapping range = p;
    p.host_port_end = 0;
    for (unsigned port = range.host_port; port <= range.host_port_end; ++port) {
      p.host_port = static_cast<uint16_t>(port);
      if (lf.host_port_taken(p)) continue;
      try {
        held.push_back(hold_host_port(p).socket);
        return p;
      } catch (const PortInUse&) {  // a host process has it: try the next one
      }
    }
    throw Error("no free host port in " + format_port_mapping(range));
  }
  if (lf.host_port_taken(p)) throw PortInUse(port_allocated_message(p));
  held.push_back(hold_host_port(p).socket);
  return p;
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

Network::Options Network::default_options() {
  Options o;
  const NetworkSettings settings = read_network_settings(settings_file());
  o.subnet = settings.subnet;
  if (!settings.pools.empty()) o.pools = settings.pools;
  // For tests and side-by-side installs: a private bridge, subnet and table.
  if (const char* s = std::getenv("MINICTR_SUBNET"); s && *s) o.subnet = s;
  if (const char* s = std::getenv("MINICTR_BRIDGE"); s && *s) o.bridge = s;
  if (const char* s = std::getenv("MINICTR_NFT_TABLE"); s && *s) o.table = s;
  if (const char* s = std::getenv("MINICTR_SUBNET6"); s && *s) o.subnet6 = s;
  return o;
}

std::filesystem::path Network::host_state_dir(const std::string& bridge) {
  std::filesystem::path run = "/run/minictr";
  if (const char* s = std::getenv("MINICTR_RUN_DIR"); s && *s) run = s;
  return run / "networks" / bridge;
}

Network::Network(std::filesystem::path owner) : Network(std::move(owner), default_options()) {}

Network::Network(std::filesystem::path owner, Options options)
    : owner_(std::move(owner)), options_(std::move(options)) {
  check_name("bridge name", options_.bridge, 15);
  check_name("nftables table name", options_.table, 64);
  if (!options_.subnet.empty()) Subnet::parse(options_.subnet);  // fail early on a bad MINICTR_SUBNET
  parse_subnet6(options_.subnet6);                               // ... or MINICTR_SUBNET6
  state_dir_ = options_.lease_dir.empty() ? host_state_dir(options_.bridge) : options_.lease_dir;
  fs::mkdir_p(state_dir_, 0700);
}

Network::~Network() = default;

Nft& Network::nft() {
  if (!nft_) nft_ = std::make_unique<Nft>();
  return *nft_;
}

std::optional<Subnet> Network::current_subnet() {
  if (subnet_) return subnet_;
  NlSocket sk;
  if (int index = link_index(sk, options_.bridge); index != 0)
    if (auto s = bridge_subnet(sk, index)) return subnet_ = s;
  if (!options_.subnet.empty()) return subnet_ = Subnet::parse(options_.subnet);
  return std::nullopt;
}

Subnet Network::ensure_bridge() {
  NlSocket sk;
  // An existing bridge keeps its subnet: another state root (or an earlier
  // run) may have containers on it. A configured subnet must agree with it.
  std::optional<Subnet> existing;
  if (int index = link_index(sk, options_.bridge); index != 0) existing = bridge_subnet(sk, index);
  if (existing && !options_.subnet.empty() && Subnet::parse(options_.subnet).cidr() != existing->cidr())
    throw Error(
        "bridge " + options_.bridge + " already has subnet " + existing->cidr() + ", not " + options_.subnet +
        " as configured; remove its containers and run `minictr network prune`, or use another bridge");
  // Choosing a subnet and giving it to a new bridge is one step for the whole
  // host: two bridges made at once (two roots, `network create`) must not
  // both find the same subnet free.
  std::optional<FileLock> choosing;
  if (!existing)
    choosing.emplace(host_state_dir(options_.bridge).parent_path().parent_path() / "subnets.lock");
  Subnet subnet;
  if (existing)
    subnet = *existing;
  else if (!options_.subnet.empty())
    subnet = Subnet::parse(options_.subnet);
  else
    subnet = choose_free_subnet(sk, options_.pools, options_.bridge);
  bool created = false;
  if (link_index(sk, options_.bridge) == 0) {
    refuse_overlapping_routes(sk, subnet, options_.bridge);
    explain::step("netlink", "ip link add " + options_.bridge + " type bridge");
    created = bridge_create(sk, options_.bridge, mac_for(subnet.gateway()));
  }
  // A bridge made here goes again if its setup fails (e.g. a refused IPv6 subnet).
  ScopeGuard undo_bridge([&] {
    if (created) link_delete(sk, options_.bridge);
  });
  int index = link_index(sk, options_.bridge);
  if (index == 0) throw Error("bridge " + options_.bridge + " vanished while being set up");
  explain::step("netlink", "ip addr add " + format_ipv4(subnet.gateway()) + "/" +
                               std::to_string(subnet.prefix_len) + " dev " + options_.bridge +
                               "; ip link set " + options_.bridge + " up");
  addr_add(sk, index, subnet.gateway(), subnet.prefix_len);
  link_set_up(sk, options_.bridge);
  // Let packets with a 127.0.0.0/8 source be routed out of the bridge: after
  // DNAT of `curl 127.0.0.1:8080` they still carry source 127.0.0.1 until
  // postrouting masquerades them, and without this the kernel drops them.
  // It also opens the way in: packets for 127.0.0.0/8 arriving from the
  // bridge. The table's `input` chain drops those (localnet_guard_rules).
  write_sysctl("/proc/sys/net/ipv4/conf/" + options_.bridge + "/route_localnet", "1");
  // Containers reaching beyond the bridge (and hairpin via the host) are routed.
  if (options_.enable_ip_forward) write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
  if (auto subnet6 = parse_subnet6(options_.subnet6))
    configure_bridge_ipv6(sk, options_.bridge, index, *subnet6, options_.enable_ip_forward);
  undo_bridge.dismiss();
  subnet_ = subnet;
  return subnet;
}

void Network::ensure_table() {
  Nft& nft = this->nft();
  // One question to the kernel, as before: the guard chain is the newest
  // part of the table, so if it is there, so is the rest. A table an older
  // minictr made gets only the guard (its other chains are already there).
  if (!nft.netlink().chain_exists(options_.table, kLocalnetGuardChain, Family::kIp)) {
    if (!nft.table_exists(options_.table))
      nft.run(base_table_rules(options_.table, options_.bridge, *current_subnet()));
    else
      nft.run(localnet_guard_rules(options_.table, options_.bridge));
  }
  if (auto subnet6 = parse_subnet6(options_.subnet6);
      subnet6 && !nft.table_exists(options_.table, Family::kIp6))
    nft.run(base_table_rules6(options_.table, options_.bridge, *subnet6));
}

// The host ends of the veths on the bridge: one directory read
// (/sys/class/net/<bridge>/brif) instead of one RTM_GETLINK per lease, which
// made every attach O(N) netlink round trips. nullopt when the bridge does
// not exist (then each lease's veth is looked up on its own).
std::optional<std::set<std::string>> Network::bridge_ports() const {
  std::error_code ec;
  std::filesystem::directory_iterator it("/sys/class/net/" + options_.bridge + "/brif", ec);
  if (ec) return std::nullopt;
  std::set<std::string> ports;
  for (const auto& e : it) ports.insert(e.path().filename().string());
  return ports;
}

void Network::drop_stale_leases(LeaseFile& lf) {
  NlSocket sk;
  const auto ports = bridge_ports();
  bool changed = false;
  for (auto it = lf.leases().begin(); it != lf.leases().end();) {
    const Lease& l = it->second;
    // Attached, but the veth is gone: the container's netns died (the kernel
    // deletes a veth pair when one end's namespace goes away). Half-attached
    // and its attaching process is dead: minictr was killed mid-attach.
    const bool veth_gone = ports ? !ports->count(l.host_veth) : link_index(sk, l.host_veth) == 0;
    bool stale = l.attached ? veth_gone : !process_alive(l.attaching_pid);
    if (!stale) {
      ++it;
      continue;
    }
    Nft& nft = this->nft();
    link_delete(sk, l.host_veth);
    delete_rules_tagged(nft, options_.table, l.container_id);
    if (!l.ip6.empty()) delete_rules_tagged(nft, options_.table, l.container_id, Family::kIp6);
    it = lf.leases().erase(it);
    changed = true;
  }
  if (changed) {
    lf.save();
    rebalance_members(nft(), options_.table, state_dir_, lf, "");
  }
}

Attachment Network::attach(const NetworkRequest& req, pid_t child_pid) {
  const std::string& id = req.container_id;
  check_name("container id", id, 128);
  Subnet subnet;  // settled under the lock, by ensure_bridge
  const std::optional<Subnet6> subnet6 = parse_subnet6(options_.subnet6);

  Attachment att;
  std::vector<UniqueFd> held;  // the published host ports, ours once attached
  att.host_veth = req.host_veth.empty() ? host_veth_name(id) : req.host_veth;
  check_name("interface name", req.ifname, 15);
  uint32_t ip = 0;
  Ipv6 ip6{};
  if (subnet6) {
    att.prefix_len6 = subnet6->prefix_len;
    att.gateway6 = format_ipv6(subnet6->gateway());
  }

  // 1. Under the IPAM lock: bridge + table exist, an address and host ports
  //    are reserved. The lease is written before any kernel object of this
  //    container exists, so a concurrent prune() keeps the bridge.
  {
    LeaseFile lf(state_dir_);
    drop_stale_leases(lf);
    if (lf.leases().count(id)) throw Error("container " + id + " is already attached to the network");
    for (const auto& [other, l] : lf.leases())
      if (l.host_veth == att.host_veth)
        throw Error("container " + id + " and " + other + " share the veth name " + att.host_veth);
    subnet = ensure_bridge();
    ensure_table();
    record_table();
    att.prefix_len = subnet.prefix_len;
    att.gateway = format_ipv4(subnet.gateway());

    ip = lf.free_ip(subnet);
    if (subnet6) {
      ip6 = lf.free_ip6(*subnet6);
      att.ip6 = format_ipv6(ip6);
    }
    Lease& lease = lf.leases()[id];
    lease = Lease{};
    lease.container_id = id;
    lease.owner = owner_.string();
    lease.name = req.name;
    lease.aliases = req.aliases;
    lease.ip = format_ipv4(ip);
    lease.ip6 = att.ip6;
    lease.host_veth = att.host_veth;
    lease.attaching_pid = ::getpid();
    // Held before the DNAT rules exist: a failed bind leaves no rule behind.
    for (const PortMapping& p : req.ports) lease.ports.push_back(reserve_host_port(lf, p, held));
    att.ports = lease.ports;
    lf.save();
  }
  att.ip = format_ipv4(ip);
  ScopeGuard undo_lease([&] {
    LeaseFile lf(state_dir_);
    lf.leases().erase(id);
    lf.save();
  });

  // 2. The veth pair: host end on the bridge, other end born as eth0 in the
  //    child's netns.
  {
    NlSocket sk;
    int bridge = link_index(sk, options_.bridge);
    if (bridge == 0) throw Error("bridge " + options_.bridge + " disappeared");
    explain::set_netns_pid(child_pid);
    explain::step("netlink", "ip link add " + att.host_veth + " type veth peer name " + req.ifname +
                                 " netns " + explain::kNetns + "; ip link set " + att.host_veth + " master " +
                                 options_.bridge + " up");
    veth_create(sk, att.host_veth, bridge, req.ifname, mac_for(ip), child_pid);
  }
  ScopeGuard undo_veth([&] {
    NlSocket sk;
    link_delete(sk, att.host_veth);
  });
  // Hairpin: a container reaching its *own* published port via the host
  // (10.88.0.1:8080 -> DNAT -> back to itself). With br_netfilter loaded the
  // DNAT'ed frame is bridged, not routed, and must leave through the port it
  // came in on, which a bridge refuses unless the port is in hairpin mode.
  explain::step("write(2)", "echo 1 > /sys/class/net/" + att.host_veth + "/brport/hairpin_mode");
  fs::write_file("/sys/class/net/" + att.host_veth + "/brport/hairpin_mode", "1");
  // The host end is a port of the bridge, which holds the gateway's address:
  // it needs no address of its own. (Up, but without a carrier until eth0
  // comes up, so the kernel has not started its IPv6 link-local setup yet.)
  if (!subnet6) {
    explain::step("write(2)", "echo 1 > /proc/sys/net/ipv6/conf/" + att.host_veth + "/disable_ipv6");
    disable_ipv6(att.host_veth);
  }

  // 3. Inside the netns: lo up, address, eth0 up, default route via the bridge.
  const std::string no_ipv6 =
      subnet6 ? "" : " echo 1 > /proc/sys/net/ipv6/conf/" + req.ifname + "/disable_ipv6;";
  explain::step("setns+netlink", std::string("nsenter --net=") + explain::kNetnsPath +
                                     " sh -c 'ip link set lo up; ip addr add " + att.ip + "/" +
                                     std::to_string(subnet.prefix_len) + " dev eth0;" + no_ipv6 +
                                     " ip link set eth0 up; ip route add default via " + att.gateway + "'");
  if (subnet6)
    explain::step("setns+netlink", std::string("nsenter --net=") + explain::kNetnsPath +
                                       " sh -c 'ip -6 addr add " + att.ip6 + "/" +
                                       std::to_string(subnet6->prefix_len) +
                                       " dev eth0 nodad; ip -6 route add default via " + att.gateway6 + "'");
  run_in_netns(child_pid, [&] { att.mac = configure_container_side(ip, subnet, ip6, subnet6, req.ifname); });

  // 4. Published ports: one DNAT rule each, tagged with the container id.
  //    With IPv6, ports published on all addresses ("" host IP) are also
  //    published on the host's IPv6 addresses (except ::1, see nft.h).
  ScopeGuard undo_rules([&] {
    Nft& nft = this->nft();
    delete_rules_tagged(nft, options_.table, id);
    if (subnet6) delete_rules_tagged(nft, options_.table, id, Family::kIp6);
  });
  if (!att.ports.empty()) {
    std::vector<DnatRule> rules, rules6;
    for (const PortMapping& p : att.ports) {
      rules.push_back({p.host_ip, p.host_port, p.proto, att.ip, p.container_port});
      if (subnet6 && p.host_ip.empty())
        rules6.push_back({"", p.host_port, p.proto, att.ip6, p.container_port});
    }
    Nft& nft = this->nft();
    // One transaction: both families' rules, or none.
    nft.run(dnat_rules(options_.table, id, rules) + dnat_rules(options_.table, id, rules6, Family::kIp6));
  }
  // The held TCP ports listen only now that their rules take their traffic.
  for (size_t i = 0; i < held.size(); ++i) listen_on_held_port(held[i], att.ports[i]);

  // 5. Done: mark the lease attached (from now on a vanished veth means the
  //    container is gone).
  {
    LeaseFile lf(state_dir_);
    auto it = lf.leases().find(id);
    if (it == lf.leases().end()) throw Error("container " + id + " was detached while attaching");
    it->second.attached = true;
    it->second.attaching_pid = 0;
    lf.save();
    rebalance_members(nft(), options_.table, state_dir_, lf, id);  // a restarted replica rejoins (balanced.h)
  }
  undo_rules.dismiss();
  undo_veth.dismiss();
  undo_lease.dismiss();
  held_ports_[id] = std::move(held);
  return att;
}

Network::PendingDetach Network::detach_later(const std::string& container_id) {
  check_name("container id", container_id, 128);
  PendingDetach pending;
  pending.net_ = this;
  pending.id_ = container_id;
  pending.leases_ = std::make_unique<LeaseFile>(state_dir_);  // held until finish()
  auto& leases = pending.leases_->leases();
  auto it = leases.find(container_id);
  // No lease: attach never got as far as the veth (the lease is written
  // first), so there is nothing of this container to remove. Returning here
  // also keeps hosts without nf_tables (--network none only) working.
  if (it == leases.end()) {
    pending.leases_.reset();
    held_ports_.erase(container_id);
    return pending;
  }
  pending.veth_ = it->second.host_veth.empty() ? host_veth_name(container_id) : it->second.host_veth;
  for (const auto& [other, l] : leases)  // only touch a veth no other lease claims
    if (other != container_id && l.host_veth == pending.veth_) pending.veth_.clear();
  pending.has_ip6_ = !it->second.ip6.empty();
  // Out of any balanced port's rotation now, before the caller reports the
  // exit: no new connection goes to an address that is about to vanish.
  rebalance_members(nft(), options_.table, state_dir_, *pending.leases_, container_id, true);
  return pending;
}

void Network::detach(const std::string& container_id) { detach_later(container_id).finish(); }

void Network::PendingDetach::finish() {
  if (!leases_) return;
  Nft& nft = net_->nft();
  delete_rules_tagged(nft, net_->options_.table, id_);
  if (has_ip6_) delete_rules_tagged(nft, net_->options_.table, id_, Family::kIp6);
  // Free the host ports only now that no rule sends their traffic away.
  net_->held_ports_.erase(id_);
  NlSocket sk;
  // Down first, which is quick: the container's old eth0 (still alive in its
  // dying namespace) is cut off the bridge, so its address can be leased
  // again at once without two hosts answering ARP for it.
  if (!veth_.empty()) link_set_down(sk, veth_);
  leases_->leases().erase(id_);
  leases_->save();
  leases_.reset();  // unlock: the slow part needs no lock
  if (!veth_.empty()) {
    explain::step("netlink", "ip link del " + veth_ + "   # takes eth0 in the container with it");
    link_delete(sk, veth_);
  }
}

Network::PendingDetach::PendingDetach(PendingDetach&&) noexcept = default;

Network::PendingDetach::~PendingDetach() {
  try {
    finish();
  } catch (const std::exception&) {
    // Best effort in a destructor; `rm -f` and `system prune` retry.
  }
}

Subnet Network::create() {
  LeaseFile lf(state_dir_);
  Subnet subnet = ensure_bridge();
  ensure_table();
  record_table();
  return subnet;
}

void Network::record_table() {
  const auto file = state_dir_ / "network.json";
  if (!std::filesystem::exists(file))
    fs::write_file_atomic(file, nlohmann::json{{"table", options_.table}}.dump() + "\n", 0600, false);
}

void Network::detach_everywhere(const std::filesystem::path& owner, const std::string& container_id) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(host_state_dir("x").parent_path(), ec)) {
    if (!e.is_directory()) continue;
    Options o;
    o.bridge = e.path().filename().string();
    o.lease_dir = e.path();
    try {
      auto text = fs::read_file_if_exists(e.path() / "network.json");
      if (!text) continue;
      o.table = nlohmann::json::parse(*text).at("table").get<std::string>();
      Network(owner, o).detach(container_id);
    } catch (const std::exception&) {
      // a record we cannot read: its bridge is not ours to touch
    }
  }
}

bool Network::prune() {
  LeaseFile lf(state_dir_);
  drop_stale_leases(lf);
  if (!lf.leases().empty()) return false;  // still in use
  Nft& nft = this->nft();
  if (nft.table_exists(options_.table)) nft.run("delete table ip " + options_.table);
  // Whatever MINICTR_SUBNET6 says now: an earlier run may have made it.
  if (nft.table_exists(options_.table, Family::kIp6)) nft.run("delete table ip6 " + options_.table);
  NlSocket sk;
  link_delete(sk, options_.bridge);
  subnet_.reset();  // a new bridge may get another subnet
  fs::unlink_deferred(state_dir_ / "network.json");
  return true;
}

void Network::remove_state_dir() { fs::remove_tree(state_dir_); }

std::vector<HostEntry> Network::hosts() {
  LeaseFile lf(state_dir_);
  std::vector<HostEntry> out;
  for (const auto& [id, l] : lf.leases())
    if (l.attached && l.owner == owner_.string()) out.push_back({id, l.name, l.ip, l.ip6});
  return out;
}

Network::Counters Network::counters(pid_t pid) {
  // /proc/<pid>/net/dev lists the interfaces of the netns *that process* is
  // in, so the host can read a container's counters without entering it.
  const std::string path = "/proc/" + std::to_string(pid) + "/net/dev";
  std::istringstream in(fs::read_file(path));
  std::string line;
  Counters c;
  for (int i = 0; i < 2 && std::getline(in, line);) ++i;  // two header lines
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string ifname = line.substr(0, colon);
    ifname.erase(0, ifname.find_first_not_of(' '));
    if (ifname == "lo") continue;
    // rx: bytes packets errs drop fifo frame compressed multicast | tx: bytes ...
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[9] = {};
    for (auto& x : v) fields >> x;
    if (!fields) throw Error("unexpected line in " + path + ": " + line);
    c.rx_bytes += v[0];
    c.tx_bytes += v[8];
  }
  return c;
}

}  // namespace mctr::net
