// The name server of a user network, as Docker's embedded DNS and podman's
// aardvark-dns: containers on the network find each other by name, alias or
// short id, and every other name is forwarded to the host's name servers.
//
// One process per network, on the host side, listening on the bridge's own
// address (the containers' gateway: their resolv.conf names it). It answers
// from the network's lease file (ipam.json, see ipam.h), read again whenever
// it changes, so a container is found as soon as it is attached and gone as
// soon as it is detached. A container on several networks (`network
// connect`) asks only its first network's server (its resolv.conf names one):
// that server answers for the sender's other networks too, as Docker's one
// resolver per container does. Only UDP: names here are short, answers never need
// TCP's larger messages.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "linux/net/dns_message.h"
#include "linux/net/ipam.h"
#include "util/fd.h"

namespace mctr::net {

// The addresses the network answers for `name` ("web", "web-alias", the first
// 12 hex digits of an id), of `type`: empty if the name is one of the network's
// but has no address of that type; nullopt if it is not one of its names.
std::optional<std::vector<std::string>> lookup_network_name(const std::map<std::string, Lease>& leases,
                                                            const std::string& name, dns::Type type);

// lookup_network_name for the container at `client_ip` on the network of
// `own`: its names first, then those of each network in `others` the client's
// container is attached to as well (nullopt: none of them has the name).
std::optional<std::vector<std::string>> lookup_for_client(
    const std::map<std::string, Lease>& own, const std::vector<const std::map<std::string, Lease>*>& others,
    const std::string& client_ip, const std::string& name, dns::Type type);

// The "nameserver" addresses of a resolv.conf text, in order.
std::vector<std::string> name_servers_of(const std::string& resolv_conf);

class DnsServer {
 public:
  struct Options {
    std::string listen_ip;  // the bridge's gateway address
    uint16_t port = 53;
    std::filesystem::path lease_dir;  // Network::host_state_dir(bridge)
    std::vector<std::string> upstreams;
    // The state dirs of all networks (lease_dir's parent): the user networks
    // there (those with a name server of their own) answer for the senders
    // attached to them too. "" = this network's names only.
    std::filesystem::path networks_dir;
    // Exit after this long with no container attached (the next one starts a new server).
    int idle_exit_ms = 5000;
  };
  // Binds the socket, or throws (port 53 taken on that address, ...).
  explicit DnsServer(Options o);
  // Serve until idle; a query the upstreams do not answer within 2 s gets SERVFAIL.
  void run();

 private:
  struct Forwarded;
  void answer(const std::vector<uint8_t>& query, const sockaddr_storage& client, socklen_t client_len,
              std::vector<Forwarded>& forwarded);
  void reload_leases_if_changed();
  // The leases of the other user networks under networks_dir, read again when changed.
  std::vector<const std::map<std::string, Lease>*> other_networks();
  struct LeaseCache {
    int64_t mtime_ns = -1;
    std::map<std::string, Lease> leases;
  };
  Options o_;
  UniqueFd socket_;
  std::map<std::string, Lease> leases_;
  int64_t leases_mtime_ns_ = -1;
  std::map<std::filesystem::path, LeaseCache> others_;
};

}  // namespace mctr::net
