// Container networking: a bridge (minictr0), one veth pair per container,
// addresses from a locked IPAM file, nftables NAT + published ports in
// minictr's own table. Kernel access through libnl-route-3 and libnftables.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mctr::net {

struct PortMapping {
  std::string host_ip;  // "" = all addresses
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string proto = "tcp";  // "tcp" | "udp"
};

// Parse "-p [hostip:]hostport:containerport[/proto]" (also "containerport" alone
// and "hostip::containerport": host_port 0, attach() picks a free host port like
// Docker). Throws mctr::Error for anything else (ranges are not supported).
PortMapping parse_port_mapping(const std::string& spec);
// "8080:80/tcp", "127.0.0.1:8080:80/udp" (for ps / inspect).
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
};

struct NetworkRequest {
  std::string container_id;
  std::string name;  // for name resolution between containers
  std::vector<PortMapping> ports;
};

// A name -> address line for the /etc/hosts of containers on the bridge.
struct HostEntry {
  std::string container_id;
  std::string name;
  std::string ip;
};

class LeaseFile;  // ipam.h

// State (IPAM file, lock) lives under state_dir (<root>/network).
class Network {
 public:
  struct Options {
    std::string bridge = "minictr0";
    std::string subnet = "10.88.0.0/16";  // the bridge gets the first address
    std::string table = "minictr";        // nftables table (family ip)
    bool enable_ip_forward = true;        // write 1 to /proc/sys/net/ipv4/ip_forward
  };
  // Defaults, with the subnet taken from $MINICTR_SUBNET when set.
  static Options default_options();

  explicit Network(std::filesystem::path state_dir);
  Network(std::filesystem::path state_dir, Options options);
  // Parent side, after clone(CLONE_NEWNET) and before the child execs (the
  // child must stay alive until this returns): create/ensure the bridge and
  // table, a veth pair whose peer is born as eth0 inside the netns of
  // `child_pid`, configure lo/eth0/default route in there, add DNAT rules for
  // the ports. Ports with host_port 0 get a free one (see Attachment::ports).
  // Throws mctr::Error (port taken, subnet overlaps a host route, ...) after
  // undoing everything it did.
  Attachment attach(const NetworkRequest& req, pid_t child_pid);
  // Remove the veth, the address lease and the rules of this container. Idempotent.
  void detach(const std::string& container_id);
  // Remove bridge and table when no container uses them (system prune).
  // Leases of containers whose veth has vanished (their netns died without a
  // detach) are dropped first, with their rules.
  void prune();
  // Containers currently attached (this one included once attach returned),
  // for the /etc/hosts written into a new container. Entries are not pushed
  // into containers that are already running.
  std::vector<HostEntry> hosts();
  const Options& options() const { return options_; }
  // rx/tx bytes of all interfaces (except lo) in the netns of `pid`.
  struct Counters {
    uint64_t rx_bytes = 0, tx_bytes = 0;
  };
  static Counters counters(pid_t pid);

 private:
  void ensure_bridge();
  void ensure_table();
  void drop_stale_leases(LeaseFile& leases);

  std::filesystem::path state_dir_;
  Options options_;
};

}  // namespace mctr::net
