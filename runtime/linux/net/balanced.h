// Published ports spread over several containers of one bridge (compose's
// replicas behind one host port, see nft.h's BalancedDnat), as data: each
// is recorded with its members' container ids in <state dir>/balanced.json,
// and its rule is written over the members in rotation right now. Network's
// attach and detach rebuild the rules of the ports the container is a
// member of, under the lease lock: a replica that dies (its supervisor's
// detach, or a stale lease dropped) leaves the rotation at once, and one that
// restarts comes back, without compose running.
//
// Health, as swarm's routing mesh and kube-proxy's readiness: a member with
// a healthcheck is in the rotation only while attached AND healthy; its
// "starting" and "unhealthy" hold it out (so a replica still loading gets no
// connection). The record keeps the health of the network's containers that
// have a healthcheck; the container layer reports it (set_member_health) at
// attach ("starting") and on each change, and any member that is not
// attached goes back to "starting": it will start again as one.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "linux/net/ipam.h"
#include "linux/net/network.h"
#include "linux/net/nft.h"

namespace mctr::net {

struct BalancedPort {
  std::string tag;  // the rules' comment, e.g. "compose proj/web"
  std::vector<PortMapping> ports;
  std::vector<std::string> members;  // container ids, in rotation order
};

// Everything balanced.json holds for one network.
struct BalancedRecord {
  std::map<std::string, BalancedPort> ports;  // by tag
  std::map<std::string, std::string> health;  // container id -> "starting" | "healthy" | "unhealthy"
};

// The addresses a port's rule sends to, in member order: the members attached
// in `leases` (but `leaving`) whose health, if they have one, is "healthy".
std::vector<std::string> rotation(const BalancedPort& b, const BalancedRecord& rec,
                                  const std::map<std::string, Lease>& leases,
                                  const std::string& leaving = "");

// Health entries of containers that are not attached (or `leaving`) go back
// to "starting", and are forgotten once no port names them either. Returns
// true if the record changed.
bool settle_health(BalancedRecord& rec, const std::map<std::string, Lease>& leases,
                   const std::string& leaving = "");

// (Re)define the balanced port `b.tag` of the network `o` and write its rules
// now; no members: forget it and delete its rules. Returns how many members
// are in rotation (the backends of the rule). Takes the lease lock.
size_t set_balanced_port(const Network::Options& o, const BalancedPort& b);

// Record the health of container `id` (one with a healthcheck) on the
// network `o` and, if that moves it into or out of rotation, rewrite the rules
// of the ports it is a member of. Takes the lease lock.
void set_member_health(const Network::Options& o, const std::string& id, const std::string& status);

// Rewrite the rules of every balanced port of `state_dir` that container
// `id` is a member of ("" = all), from the leases in `lf` (whose lock the
// caller holds); `leaving`: as if its lease were gone already (a detach
// takes it out before the exit is recorded). Best effort: a failure leaves
// the old rules.
void rebalance_members(Nft& nft, const std::string& table, const std::filesystem::path& state_dir,
                       const LeaseFile& lf, const std::string& id, bool leaving = false);

}  // namespace mctr::net
