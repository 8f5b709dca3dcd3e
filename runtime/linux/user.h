// Resolve `-u user[:group]` against the container's /etc/passwd and /etc/group,
// and switch to that user.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mctr::user {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups from /etc/group
  std::string home = "/";
};

// `spec` is "", "name", "uid", "name:group", "uid:gid"; files are the
// container's (read after pivot_root). Numeric ids need no passwd entry.
Identity resolve(const std::string& spec, const std::string& passwd_path = "/etc/passwd",
                 const std::string& group_path = "/etc/group");

// The largest uid or gid: (uid_t)-1 means "unchanged" to setuid and friends.
constexpr uint32_t kMaxId = 4294967294U;

// Refuse a `-u` spec that no passwd/group file can make valid: more than one
// ':', an empty part, a number over kMaxId, or a name with characters outside
// [A-Za-z0-9._$-] (or starting with '-'). Names are looked up at start.
void check_spec(const std::string& spec);

// setgroups + setgid + setuid. As non-root, the kernel then clears the
// permitted and effective capabilities (Docker's behaviour for -u).
void switch_to(const Identity& id);

}  // namespace mctr::user
