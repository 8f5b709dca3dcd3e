// /etc/hostname, /etc/hosts and /etc/resolv.conf of a container: written in
// its state directory and bind-mounted over the image's files (as Docker does),
// so the image layers are never changed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "container/config.h"
#include "container/network_mode.h"

namespace mctr::container {

// What the three files say, besides the container's addresses and peers.
struct EtcFiles {
  std::string hostname;
  std::string name;     // beside the hostname on its address line
  NetworkMode network;  // host: the host's resolv.conf; container:ID: only /etc/hostname
  std::optional<std::pair<uid_t, gid_t>> owner;  // --userns: the container's root (host ids)
};
// From the private config (the supervisor's side); from_bundle.h has the
// same from the bundle (the init's side).
EtcFiles etc_files_of(const Config& cfg);

// Writes the three files into `dir`; `ip` is "" without a bridge network,
// `ip6` "" without IPv6. `peers` are name -> ip of other containers on the
// same bridge (their IPv6 lines are added by Network::refresh_hosts_file).
// `name_server`: the network's own (network_dns.h), which resolves the
// containers' names and forwards the rest; "" = the host's name servers.
// A container in another one's network namespace (--network container:ID)
// gets its hostname only: it mounts the other's hosts and resolv.conf
// (network_container.h).
void write_etc_files(const std::filesystem::path& dir, const EtcFiles& files, const std::string& ip,
                     const std::vector<std::pair<std::string, std::string>>& peers,
                     const std::string& ip6 = "", const std::string& name_server = "");

// The resolv.conf of a container whose name server is `name_server` (the
// resolver at 127.0.0.11): the search and options lines of `text` kept, and
// Docker's "options ndots:0" unless those set ndots.
std::string resolver_resolv_conf(const std::string& text, const std::string& name_server);

}  // namespace mctr::container
