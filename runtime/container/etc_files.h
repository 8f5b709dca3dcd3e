// /etc/hostname, /etc/hosts and /etc/resolv.conf of a container: written in
// its state directory and bind-mounted over the image's files (as Docker does),
// so the image layers are never changed.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "container/config.h"

namespace mctr::container {

// Writes the three files into `dir`; `ip` is "" without a bridge network,
// `ip6` "" without IPv6. `peers` are name -> ip of other containers on the
// same bridge (their IPv6 lines are added by Network::refresh_hosts_file).
// `name_server`: the network's own (network_dns.h), which resolves the
// containers' names and forwards the rest; "" = the host's name servers.
// A container in another one's network namespace (--network container:ID)
// gets its hostname only: it mounts the other's hosts and resolv.conf
// (network_container.h).
void write_etc_files(const std::filesystem::path& dir, const Config& cfg, const std::string& ip,
                     const std::vector<std::pair<std::string, std::string>>& peers,
                     const std::string& ip6 = "", const std::string& name_server = "");

// The resolv.conf of a container whose name server is `name_server` (the
// resolver at 127.0.0.11): the search and options lines of `text` kept, and
// Docker's "options ndots:0" unless those set ndots.
std::string resolver_resolv_conf(const std::string& text, const std::string& name_server);

}  // namespace mctr::container
