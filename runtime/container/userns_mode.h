// run --userns (docs/01-namespaces.md): the container in a user namespace of
// its own, whose root is an unprivileged range of host ids, as podman's
// --uidmap and dockerd's --userns-remap do. The flag's text becomes one
// range in config.json (Config::userns); the bundle carries it as
// linux.uidMappings/gidMappings with a "user" namespace.
#pragma once

#include <optional>
#include <string>

#include "container/config.h"
#include "linux/security/userns.h"

namespace mctr::container {

struct UsernsRanges {
  security::IdMapping uids, gids;
};

// The flag as typed ("", "host", "remap", "0:100000:65536") checked against
// the other flags of the run: "" for the host's user namespace, else the
// text Config::userns keeps ("UIDS" or "UIDS/GIDS" when /etc/subgid's
// range differs from /etc/subuid's). Throws a one-line Error naming --userns
// for a bad range or a flag that cannot work in a user namespace.
std::string resolve_userns(const std::string& flag, const NetworkMode& network_mode, bool privileged);

// Config::userns read back; nullopt for the host's user namespace.
std::optional<UsernsRanges> userns_ranges(const std::string& userns);

}  // namespace mctr::container
