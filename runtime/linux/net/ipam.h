// IP address management: which container holds which address (and host
// ports), in one text file under the network state dir (`leases`, a line per
// container). Every writer holds an flock on ipam.lock, so two `minictr run`
// racing for an address never get the same one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "linux/net/ipv4.h"
#include "linux/net/ipv6.h"
#include "linux/net/network.h"
#include "util/lock.h"

namespace mctr::net {

struct Lease {
  std::string container_id;
  std::string owner;  // the state root's network dir (Network's `owner`)
  std::string name;
  std::vector<std::string> aliases;  // --network-alias: more names the network's DNS answers
  std::string ip;
  std::string ip6;  // "" without IPv6
  std::string host_veth;
  std::vector<PortMapping> ports;  // with the host ports actually used
  bool attached = false;           // false while attach() is still wiring it up
  pid_t attaching_pid = 0;         // the process doing that wiring (while !attached)
};

// <dir>/leases: the network state dir's lease file.
std::filesystem::path lease_file(const std::filesystem::path& dir);

// The leases in `file` without taking the lock: the file is replaced by
// rename, so a reader sees whole versions (the DNS server). Throws Error
// for a line it cannot read.
std::map<std::string, Lease> read_leases(const std::filesystem::path& file);

class LeaseFile {
 public:
  // Locks <dir>/ipam.lock (blocking) and reads <dir>/leases.
  explicit LeaseFile(const std::filesystem::path& dir);
  std::map<std::string, Lease>& leases() { return leases_; }
  const std::map<std::string, Lease>& leases() const { return leases_; }
  // Replace the lease file by rename (readers never see a torn file).
  void save();
  // The lowest address of the subnet that is neither network, gateway,
  // broadcast nor leased. Throws when the subnet is full.
  uint32_t free_ip(const Subnet& subnet) const;
  // The same in an IPv6 subnet: the lowest free host index from 2 (1 is the bridge).
  Ipv6 free_ip6(const Subnet6& subnet) const;
  // Is this host port (proto, host ip) already published by some lease?
  bool host_port_taken(const PortMapping& p) const;

 private:
  FileLock lock_;
  std::filesystem::path file_;
  std::map<std::string, Lease> leases_;
};

}  // namespace mctr::net
