// The few nftables questions and deletions minictr asks of the kernel
// itself, over a NETLINK_NETFILTER socket (nf_tables' own protocol, the one
// the `nft` tool speaks): does a table or chain exist, which rules carry a comment,
// delete rules by handle. Adding rules stays with `nft` (nft.h): building
// rule expressions by hand would be a compiler of its own.
//
// These run when a container stops, holding the IPAM lock, so the next
// container's attach waits for them: in-process they take ~0.2 ms, where a
// run of `nft` takes ~5-8 ms here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "linux/net/nlmsg.h"
#include "util/fd.h"

namespace mctr::net {

// The nftables address families minictr makes tables in: `ip` (IPv4) and
// `ip6` (the families of nft's command line and of NFPROTO_* in netlink).
enum class Family : uint8_t { kIp, kIp6 };
const char* to_string(Family f);  // "ip", "ip6"

struct TaggedRule {
  std::string chain;
  uint64_t handle = 0;
};

class NftNetlink {
 public:
  NftNetlink();  // one socket for this object's life (see ~NftNetlink)
  // Over a socket standing in for the kernel (unit tests: a socketpair end).
  NftNetlink(UniqueFd stand_in, std::chrono::milliseconds timeout);
  // Closing the socket after a deletion waits for the kernel to free the
  // deleted rules (one RCU grace period, ~7 ms), so keep this object until
  // the end of the work, as the supervisor does.
  ~NftNetlink() = default;

  bool table_exists(const std::string& table, Family family);
  // false also when the table does not exist.
  bool chain_exists(const std::string& table, const std::string& chain, Family family);
  // Every rule of the table whose comment is exactly `tag` (none if no table).
  std::vector<TaggedRule> rules_tagged(const std::string& table, const std::string& tag, Family family);
  // Delete them in one transaction (a netlink batch): all or none.
  void delete_rules(const std::string& table, const std::vector<TaggedRule>& rules, Family family);

 private:
  // Send a GET message for one object: true if the kernel answers with it.
  bool exists(nl::Message& m, const std::string& call, const std::string& what);

  nl::Socket sk_;
};

}  // namespace mctr::net
