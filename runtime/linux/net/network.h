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
  std::string host_ip;   // "" = all addresses
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string proto = "tcp";  // "tcp" | "udp"
};

// Parse "-p [hostip:]hostport:containerport[/proto]" (also "containerport" alone,
// which picks a free host port like Docker).
PortMapping parse_port_mapping(const std::string& spec);

struct Attachment {
  std::string ip;        // "10.88.0.5"
  int prefix_len = 16;
  std::string gateway;   // bridge address
  std::string mac;
  std::string host_veth; // host-side interface name
  std::vector<PortMapping> ports;
};

struct NetworkRequest {
  std::string container_id;
  std::string name;                  // for name resolution between containers
  std::vector<PortMapping> ports;
};

// State (IPAM file, lock) lives under state_dir (<root>/network).
class Network {
 public:
  explicit Network(std::filesystem::path state_dir);
  // Parent side, after clone(): create/ensure the bridge and table, a veth
  // pair, move the peer into the netns of `child_pid`, configure eth0/lo/route
  // inside it, add DNAT rules for the ports. Undoes everything on failure.
  Attachment attach(const NetworkRequest& req, pid_t child_pid);
  // Remove the veth, the address lease and the rules of this container. Idempotent.
  void detach(const std::string& container_id);
  // Remove bridge and table when no container uses them (system prune).
  void prune();
  // rx/tx bytes of all interfaces (except lo) in the netns of `pid`.
  struct Counters {
    uint64_t rx_bytes = 0, tx_bytes = 0;
  };
  static Counters counters(pid_t pid);

 private:
  std::filesystem::path state_dir_;
};

}  // namespace mctr::net
