// Published ports spread over several containers of one bridge (compose's
// replicas behind one host port, see nft.h's BalancedDnat), as data: each
// is recorded with its members' container ids in <state dir>/balanced.json,
// and its rule is written over the members attached right now. Network's
// attach and detach rebuild the rules of the ports the container is a
// member of, under the lease lock: a replica that dies (its supervisor's
// detach, or a stale lease dropped) leaves the rotation at once, and one that
// restarts comes back, without compose running.
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

// (Re)define the balanced port `b.tag` of the network `o` and write its rules
// now; no members: forget it and delete its rules. Returns how many members
// are attached (the backends of the rule). Takes the lease lock.
size_t set_balanced_port(const Network::Options& o, const BalancedPort& b);

// Rewrite the rules of every balanced port of `state_dir` that container
// `id` is a member of ("" = all), from the leases in `lf` (whose lock the
// caller holds); `leaving`: as if its lease were gone already (a detach
// takes it out before the exit is recorded). Best effort: a failure leaves
// the old rules.
void rebalance_members(Nft& nft, const std::string& table, const std::filesystem::path& state_dir,
                       const LeaseFile& lf, const std::string& id, bool leaving = false);

}  // namespace mctr::net
