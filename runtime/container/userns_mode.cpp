#include "container/userns_mode.h"

#include "container/networks.h"
#include "util/error.h"

namespace mctr::container {

namespace {

std::string text_of(const security::IdMapping& m) {
  return std::to_string(m.container_id) + ":" + std::to_string(m.host_id) + ":" + std::to_string(m.size);
}

// What the kernel refuses to a user namespace's root, or what would give it
// the host back: refused before anything is made.
void check_compatible(const NetworkMode& network_mode, bool privileged) {
  // sysfs and the network devices belong to the network namespace's owner:
  // the host's (host) or another container's (container:NAME).
  if (network_mode.kind == NetworkMode::Kind::kHost || network_mode.joins_container())
    throw Error("--userns cannot be used with --network " + network_mode.str() +
                ": a user namespace's root cannot manage a network namespace it does not own");
  if (privileged) throw Error("--userns cannot be used with --privileged (use --userns=host)");
}

}  // namespace

std::string resolve_userns(const std::string& flag, const NetworkMode& network_mode, bool privileged) {
  if (flag.empty() || flag == "host") return "";
  security::IdMapping uids, gids;
  if (flag == "remap") {
    uids = security::remap_range("/etc/subuid");
    gids = security::remap_range("/etc/subgid");
  } else {
    uids = gids = security::parse_userns_range(flag);
  }
  check_compatible(network_mode, privileged);
  if (uids.host_id == gids.host_id && uids.size == gids.size) return text_of(uids);
  return text_of(uids) + "/" + text_of(gids);
}

std::optional<UsernsRanges> userns_ranges(const std::string& userns) {
  if (userns.empty()) return std::nullopt;
  const auto slash = userns.find('/');
  UsernsRanges r;
  r.uids = security::parse_id_mappings(userns.substr(0, slash)).front();
  r.gids =
      slash == std::string::npos ? r.uids : security::parse_id_mappings(userns.substr(slash + 1)).front();
  return r;
}

}  // namespace mctr::container
