// The name server of a user network, as Docker's embedded DNS and podman's
// aardvark-dns: containers on the network find each other by name, alias or
// short id, and every other name is forwarded to the host's name servers.
//
// One process per network, on the host side. It answers inside each
// attached container at 127.0.0.11:53, as Docker does (the containers'
// resolv.conf names that address): the container's supervisor makes a UDP
// socket bound there in the container's network namespace (a socket stays
// in the namespace it was made in, whichever process later reads it) and
// hands it over (add_client); the server closes it when the container
// leaves the network. So a query's socket says which container asks.
//
// It answers from the network's lease file (`leases`, see ipam.h), read
// again whenever it changes, so a container is found as soon as it is
// attached and gone as soon as it is detached. A container on several
// networks (`network connect`) has one 127.0.0.11, served by its first
// network's server: that server answers for the container's other networks
// too, as Docker's one resolver per container does. Only UDP: names here are
// short, answers never need TCP's larger messages.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <filesystem>
#include <functional>
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

// lookup_network_name for the container `client_id` on the network of
// `own`: its names first, then those of each network in `others` the client
// is attached to as well (nullopt: none of them has the name).
std::optional<std::vector<std::string>> lookup_for_client(
    const std::map<std::string, Lease>& own, const std::vector<const std::map<std::string, Lease>*>& others,
    const std::string& client_id, const std::string& name, dns::Type type);

// The "nameserver" addresses of a resolv.conf text, in order.
std::vector<std::string> name_servers_of(const std::string& resolv_conf);

// Where a container's resolver answers, as Docker's.
inline constexpr const char* kResolverAddress = "127.0.0.11";
// A UDP socket on 127.0.0.11:53 in the calling thread's network namespace
// (call it from run_in_netns). SO_REUSEADDR: the container's own program
// may still bind port 53 on all addresses if it sets SO_REUSEADDR too (the
// kernel gives 127.0.0.11's queries to the socket bound to that address).
UniqueFd bind_resolver_socket();

class DnsServer {
 public:
  struct Options {
    std::filesystem::path lease_dir;  // Network::host_state_dir(bridge)
    std::vector<std::string> upstreams;
    // The state dirs of all networks (lease_dir's parent): the user networks
    // there (those with a name server of their own) answer for the senders
    // attached to them too. "" = this network's names only.
    std::filesystem::path networks_dir;
    // Exit after this long with no container attached (the next one starts a new server).
    int idle_exit_ms = 5000;
  };
  explicit DnsServer(Options o);
  // Answer on `socket` (bind_resolver_socket) for container `id`, in place
  // of any socket it had (a restart: a new network namespace).
  void add_client(const std::string& id, UniqueFd socket);
  // Close `id`'s socket (false: it had none). Done by itself too once the
  // container's lease here is no longer attached.
  bool drop_client(const std::string& id);
  // Serve until idle; a query the upstreams do not answer within 2 s gets
  // SERVFAIL. `on_control` is called whenever `control_fd` is readable.
  void run(int control_fd, const std::function<void()>& on_control);

 private:
  struct Forwarded;
  void answer(const std::vector<uint8_t>& query, const std::string& client_id, const sockaddr_storage& from,
              socklen_t from_len, std::vector<Forwarded>& forwarded);
  void reply(const std::string& client_id, const std::vector<uint8_t>& msg, const sockaddr_storage& to,
             socklen_t to_len);
  // Read the lease file again if it changed (always if `force`).
  void reload_leases_if_changed(bool force = false);
  // Close the sockets of the containers whose lease is no longer attached.
  void drop_departed_clients();
  // The leases of the other user networks under networks_dir, read again when changed.
  std::vector<const std::map<std::string, Lease>*> other_networks();
  struct LeaseCache {
    int64_t mtime_ns = -1;
    std::map<std::string, Lease> leases;
  };
  Options o_;
  std::map<std::string, UniqueFd> clients_;  // container id -> its 127.0.0.11 socket
  std::map<std::string, Lease> leases_;
  int64_t leases_mtime_ns_ = -1;
  bool leases_read_ = false;  // the last read of the lease file succeeded
  std::map<std::filesystem::path, LeaseCache> others_;
};

}  // namespace mctr::net
