// Container networking: a bridge (minictr0), one veth pair per container,
// addresses from a locked IPAM file, nftables NAT + published ports in
// minictr's own table. Kernel access through raw rtnetlink (netlink.h) and libnftables.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "linux/net/ipv4.h"
#include "linux/net/subnet_pool.h"
#include "util/fd.h"

namespace mctr::net {

struct PortMapping {
  std::string host_ip;  // "" = all addresses
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string proto = "tcp";  // "tcp" | "udp"
  // Non-zero for "-p 8080-8081:80": attach() publishes ONE free host port
  // of host_port..host_port_end (as Docker does); 0 in an Attachment.
  uint16_t host_port_end = 0;
};

// Parse "-p [hostip:]hostport:containerport[/proto]" (also "containerport" alone
// and "hostip::containerport": host_port 0, attach() picks a free host port like
// Docker). Either port may be a range "first-last", as in Docker:
//   8000-8002:80-82  three mappings, port by port (range sizes must match);
//   8080-8081:80     one mapping; attach() picks a free host port of the range;
//   80-82            three mappings with host ports picked by attach().
// Throws mctr::Error for anything else.
std::vector<PortMapping> parse_port_mappings(const std::string& spec);
// The same for a spec that is exactly one mapping (throws for "80-82").
PortMapping parse_port_mapping(const std::string& spec);
// "8080:80/tcp", "127.0.0.1:8080:80/udp", "8080-8081:80/tcp" (for ps / inspect).
std::string format_port_mapping(const PortMapping& p);
// `-P`: one mapping with a free host port (chosen by attach) for each EXPOSEd
// port of the image config ("80/tcp", "53/udp", "8080").
std::vector<PortMapping> publish_all(const std::vector<std::string>& exposed_ports);
// A host port that is free right now for `proto` on `host_ip` ("" = any): the
// kernel picks it from the ephemeral range (bind to port 0).
uint16_t pick_free_host_port(const std::string& proto, const std::string& host_ip);
// Throws mctr::Error when a host process already listens on the mapping's
// host port (a DNAT rule would silently steal its traffic) or the host IP is
// not one of this host's addresses.
void check_host_port_free(const PortMapping& p);

struct Attachment {
  std::string ip;  // "10.88.0.5"
  int prefix_len = 16;
  std::string gateway;  // bridge address
  std::string mac;
  std::string host_veth;  // host-side interface name
  std::vector<PortMapping> ports;
  std::string ip6;  // "fd00:6d63:7472::2", "" without IPv6
  int prefix_len6 = 0;
  std::string gateway6;  // bridge's IPv6 address
};

struct NetworkRequest {
  std::string container_id;
  std::string name;  // for name resolution between containers
  std::vector<PortMapping> ports;
  std::vector<std::string> aliases = {};  // more names for the network's DNS server (--network-alias)
  // The interface in the container and the host end of its veth. A second
  // network (`network connect`) gets "eth1", ... and no default route: the
  // first network keeps it, as in Docker. "" host_veth = "mctr" + 8 of the id.
  std::string ifname = "eth0";
  std::string host_veth = {};
};

// A container attached to the network: its name and addresses (network
// inspect). As with Docker, no container's /etc/hosts lists the others: on
// the default bridge they reach each other by address, on a user network by
// the network's name server (network_dns.h).
struct HostEntry {
  std::string container_id;
  std::string name;
  std::string ip;
  std::string ip6;  // "" without IPv6
};

class LeaseFile;  // ipam.h

class Nft;

// The bridge, its subnet, the nft table, the address leases and the published
// host ports belong to the host, not to one state root: every root that uses
// bridge B shares one lease file and lock under /run/minictr/networks/B (or
// $MINICTR_RUN_DIR/networks/B), so two roots never hand out the same address
// or host port, and a prune in one root keeps the bridge while a container of
// another still uses it. /run is a tmpfs: leases vanish with a reboot, as the
// veths they describe do.

class Network {
 public:
  struct Options {
    std::string bridge = "minictr0";
    // The bridge's subnet; it gets the first address. "" = the subnet of the
    // existing bridge, or, when the bridge is created, the first free one of
    // `pools` (subnet_pool.h).
    std::string subnet;
    std::vector<AddressPool> pools = default_address_pools();
    std::string table = "minictr";  // nftables table (family ip, and ip6 with subnet6)
    // IPv6 ULA subnet of the bridge, e.g. "fd00:6d63:7472::/64"; "" = no
    // IPv6 (the default, as Docker's default bridge). The bridge gets ::1.
    std::string subnet6;
    bool enable_ip_forward = true;  // write 1 to /proc/sys/net/ipv4/ip_forward
    // Where the lease file and its lock live; "" = host_state_dir(bridge).
    std::filesystem::path lease_dir;
  };
  // Defaults, with the settings file's "bip" and "default-address-pools"
  // (subnet_pool.h), and the subnet taken from $MINICTR_SUBNET (and IPv6
  // switched on by $MINICTR_SUBNET6) when set.
  static Options default_options();
  // /run/minictr/networks/<bridge> ($MINICTR_RUN_DIR instead of /run/minictr).
  static std::filesystem::path host_state_dir(const std::string& bridge);

  // `owner` names the state root whose containers this object attaches
  // (<root>/network): leases record it, and hosts() lists only the
  // containers of this root.
  explicit Network(std::filesystem::path owner);
  Network(std::filesystem::path owner, Options options);
  ~Network();
  // Parent side, after clone(CLONE_NEWNET) and before the child execs (the
  // child must stay alive until this returns): create/ensure the bridge and
  // table, a veth pair whose peer is born as eth0 inside the netns of
  // `child_pid`, configure lo/eth0/default route in there, add DNAT rules for
  // the ports. Ports with host_port 0 get a free one (see Attachment::ports).
  // Each published host port is held by a socket of this object (ports.h)
  // until detach: keep this object alive as long as the container runs.
  // Throws mctr::Error (port taken, subnet overlaps a host route, ...) after
  // undoing everything it did.
  Attachment attach(const NetworkRequest& req, pid_t child_pid);
  // Remove the veth, the address lease and the rules of this container. Idempotent.
  void detach(const std::string& container_id);
  // detach() in two steps, for a caller that wants to report in between:
  // detach_later() only takes the IPAM lock (so the container's address and
  // ports stay reserved); finish() (or the destructor) deletes the rules,
  // sets the veth down, drops the lease, unlocks, and then deletes the veth.
  // That deletion is the slow part: the kernel waits for an RCU barrier,
  // ~20 ms here; it needs no lock, so the next container's attach does not
  // wait for it.
  class PendingDetach {
   public:
    PendingDetach() = default;
    PendingDetach(PendingDetach&&) noexcept;
    PendingDetach& operator=(PendingDetach&&) = delete;
    ~PendingDetach();
    void finish();

   private:
    friend class Network;
    Network* net_ = nullptr;
    std::string id_;
    std::string veth_;  // "" = not ours to delete
    bool has_ip6_ = false;
    std::unique_ptr<LeaseFile> leases_;
  };
  PendingDetach detach_later(const std::string& container_id);
  // Make the bridge (with its subnet: the configured one or the first free
  // one of the pools) and the table now, before any container (`network
  // create`). Returns the subnet.
  Subnet create();
  // Remove bridge and table when no container uses them (system prune);
  // false (and nothing removed) while some container does.
  // Leases of containers whose veth has vanished (their netns died without a
  // detach) are dropped first, with their rules.
  bool prune();
  // After a prune() of a network that is gone for good (`network rm`): its
  // directory of host state (leases, name server, balanced ports), which a
  // default bridge keeps for its next container.
  void remove_state_dir();
  // detach(container_id) from whichever bridge it has a lease on (every
  // bridge with state under host_state_dir's parent): for a container whose
  // config is gone, so its network is unknown.
  static void detach_everywhere(const std::filesystem::path& owner, const std::string& container_id);
  // Containers of this state root currently attached (this one included
  // once attach returned).
  std::vector<HostEntry> hosts();
  const Options& options() const { return options_; }
  // The bridge's subnet: the existing bridge's, else the configured one;
  // nullopt before a bridge exists when none is configured.
  std::optional<Subnet> current_subnet();
  // rx/tx bytes of all interfaces (except lo) in the netns of `pid`.
  struct Counters {
    uint64_t rx_bytes = 0, tx_bytes = 0;
  };
  static Counters counters(pid_t pid);

 private:
  // Creates the bridge if needed and returns its subnet (settled in subnet_).
  Subnet ensure_bridge();
  // <state dir>/network.json: the bridge's table, for detach_everywhere.
  void record_table();
  void ensure_table();
  void drop_stale_leases(LeaseFile& leases);
  std::optional<std::set<std::string>> bridge_ports() const;
  // One Nft (and so one nf_tables netlink socket) for all of this object's
  // work, closed when it is destroyed: closing it waits for the kernel to
  // free the rules deleted through it (see nft_netlink.h), so a caller can
  // report first and close after.
  Nft& nft();

  std::filesystem::path owner_;
  std::filesystem::path state_dir_;
  Options options_;
  std::optional<Subnet> subnet_;  // once known (see current_subnet)
  std::unique_ptr<Nft> nft_;
  // Per attached container, the sockets that hold its published host ports
  // (ports.h), from attach() until its detach has removed its DNAT rules.
  std::map<std::string, std::vector<UniqueFd>> held_ports_;
};

}  // namespace mctr::net
