#include "linux/net/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "util/error.h"

namespace mctr::net {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kUpstreamTimeout = std::chrono::seconds(2);
constexpr size_t kMaxForwarded = 256;  // queries waiting for an upstream at once
constexpr size_t kMaxMessage = 4096;

bool names_lease(const Lease& l, const std::string& name) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  if (!l.name.empty() && lower(l.name) == name) return true;
  if (l.container_id.size() >= 12 && l.container_id.substr(0, 12) == name) return true;  // Docker's hostname
  return std::any_of(l.aliases.begin(), l.aliases.end(), [&](const auto& a) { return lower(a) == name; });
}

// A socket connected to an upstream name server (port 53), or -1.
UniqueFd connect_upstream(const std::string& ip) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(53);
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(53);
    len = sizeof *a6;
  } else {
    return UniqueFd();
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0 || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) return UniqueFd();
  return fd;
}

// SERVFAIL for `query`, with its question echoed when it has one.
std::vector<uint8_t> server_failure(const std::vector<uint8_t>& query) {
  auto q = dns::parse_query(query);
  return q ? dns::make_response(query, *q, dns::Rcode::ServFail, {})
           : dns::make_error(query, dns::Rcode::ServFail);
}

bool any_attached(const std::map<std::string, Lease>& leases) {
  return std::any_of(leases.begin(), leases.end(), [](const auto& kv) { return kv.second.attached; });
}

int64_t mtime_ns(const std::filesystem::path& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 ? st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : 0;
}

}  // namespace

std::optional<std::vector<std::string>> lookup_network_name(const std::map<std::string, Lease>& leases,
                                                            const std::string& name, dns::Type type) {
  std::optional<std::vector<std::string>> found;
  for (const auto& [id, l] : leases) {
    if (!names_lease(l, name)) continue;
    if (!found) found.emplace();
    const std::string& address = type == dns::Type::A ? l.ip : l.ip6;
    if (!address.empty()) found->push_back(address);
  }
  return found;
}

std::optional<std::vector<std::string>> lookup_for_client(
    const std::map<std::string, Lease>& own, const std::vector<const std::map<std::string, Lease>*>& others,
    const std::string& client_id, const std::string& name, dns::Type type) {
  if (auto found = lookup_network_name(own, name, type)) return found;
  const auto client = own.find(client_id);
  if (client == own.end() || !client->second.attached) return std::nullopt;
  for (const auto* leases : others) {
    const auto there = leases->find(client_id);
    if (there == leases->end() || !there->second.attached) continue;
    if (auto found = lookup_network_name(*leases, name, type)) return found;
  }
  return std::nullopt;
}

std::vector<std::string> name_servers_of(const std::string& resolv_conf) {
  std::vector<std::string> out;
  std::istringstream in(resolv_conf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, address;
    if (words >> key >> address && key == "nameserver") out.push_back(address);
  }
  return out;
}

UniqueFd bind_resolver_socket() {
  UniqueFd fd(check_sys(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket", "udp"));
  int one = 1;
  // IP_FREEBIND: 127.0.0.0/8 is only local once lo is up, which need not
  // have happened yet in this namespace.
  check_sys(::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one), "setsockopt", "IP_FREEBIND");
  // Also lets a new server's socket (the container's restart or a second
  // `network connect`) bind beside the one it replaces.
  check_sys(::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "setsockopt", "SO_REUSEADDR");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  inet_pton(AF_INET, kResolverAddress, &a.sin_addr);
  check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), "bind",
            std::string(kResolverAddress) + ":53");
  return fd;
}

// A query sent on to an upstream: its answer goes back to `client_id`'s socket.
struct DnsServer::Forwarded {
  UniqueFd upstream;
  std::string client_id;
  sockaddr_storage from{};
  socklen_t from_len = 0;
  std::vector<uint8_t> query;
  Clock::time_point deadline;
};

DnsServer::DnsServer(Options o) : o_(std::move(o)) {}

void DnsServer::add_client(const std::string& id, UniqueFd socket) {
  reload_leases_if_changed(true);  // its lease is attached by now: it must not look stale
  clients_[id] = std::move(socket);
}

bool DnsServer::drop_client(const std::string& id) { return clients_.erase(id) > 0; }

void DnsServer::reload_leases_if_changed(bool force) {
  const auto file = lease_file(o_.lease_dir);
  const int64_t mtime = mtime_ns(file);
  if (mtime == leases_mtime_ns_ && !force) return;
  try {
    leases_ = read_leases(file);
    leases_mtime_ns_ = mtime;
    leases_read_ = true;
  } catch (const Error&) {
    leases_read_ = false;  // replaced while we read it: the next query reads it again
  }
}

void DnsServer::drop_departed_clients() {
  // A socket keeps its network namespace alive: close those of containers
  // that left (stopped, removed, disconnected).
  if (!leases_read_) return;  // old leases may not show a container that just attached
  std::erase_if(clients_, [&](const auto& kv) {
    const auto l = leases_.find(kv.first);
    return l == leases_.end() || !l->second.attached;
  });
}

std::vector<const std::map<std::string, Lease>*> DnsServer::other_networks() {
  std::vector<const std::map<std::string, Lease>*> out;
  if (o_.networks_dir.empty()) return out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(o_.networks_dir, ec)) {
    const auto& dir = entry.path();
    // The default bridge has no name server (as Docker's): its names stay its own.
    if (dir == o_.lease_dir || !std::filesystem::exists(dir / "dns.pid")) continue;
    LeaseCache& cache = others_[dir];
    const int64_t mtime = mtime_ns(lease_file(dir));
    if (mtime != cache.mtime_ns) {
      try {
        cache.leases = read_leases(lease_file(dir));
        cache.mtime_ns = mtime;
      } catch (const Error&) {
        // Replaced while we read it: the old leases this time.
      }
    }
    out.push_back(&cache.leases);
  }
  return out;
}

void DnsServer::reply(const std::string& client_id, const std::vector<uint8_t>& msg,
                      const sockaddr_storage& to, socklen_t to_len) {
  const auto client = clients_.find(client_id);
  if (msg.empty() || client == clients_.end()) return;  // it left meanwhile
  ::sendto(client->second.get(), msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&to), to_len);
}

void DnsServer::answer(const std::vector<uint8_t>& query, const std::string& client_id,
                       const sockaddr_storage& from, socklen_t from_len, std::vector<Forwarded>& forwarded) {
  auto reply = [&](const std::vector<uint8_t>& msg) { this->reply(client_id, msg, from, from_len); };
  auto q = dns::parse_query(query);
  if (!q) return reply(dns::make_error(query, dns::Rcode::FormErr));
  reload_leases_if_changed();
  const bool address_query =
      q->type == static_cast<uint16_t>(dns::Type::A) || q->type == static_cast<uint16_t>(dns::Type::AAAA);
  const auto type = static_cast<dns::Type>(q->type);
  const dns::Type asked = address_query ? type : dns::Type::A;
  auto ours = lookup_network_name(leases_, q->name, asked);
  if (!ours) ours = lookup_for_client(leases_, other_networks(), client_id, q->name, asked);
  if (ours) {
    // One of the network's names: other record types exist for none of them.
    return reply(dns::make_response(query, *q, dns::Rcode::NoError,
                                    address_query ? *ours : std::vector<std::string>{}));
  }
  // Anything else goes to the host's name servers; the first that takes it answers.
  for (const auto& ip : o_.upstreams) {
    if (forwarded.size() >= kMaxForwarded) break;
    UniqueFd up = connect_upstream(ip);
    if (up.get() < 0 || ::send(up.get(), query.data(), query.size(), 0) < 0) continue;
    forwarded.push_back({std::move(up), client_id, from, from_len, query, Clock::now() + kUpstreamTimeout});
    return;
  }
  reply(server_failure(query));
}

void DnsServer::run(int control_fd, const std::function<void()>& on_control) {
  std::vector<Forwarded> forwarded;
  auto idle_since = Clock::now();
  std::vector<uint8_t> buf(kMaxMessage);
  while (true) {
    // pollfds: the control socket, each client's socket, each upstream's.
    std::vector<pollfd> fds{{control_fd, POLLIN, 0}};
    std::vector<std::string> ids;
    for (const auto& [id, socket] : clients_) {
      fds.push_back({socket.get(), POLLIN, 0});
      ids.push_back(id);
    }
    const size_t first_upstream = fds.size();
    for (const auto& f : forwarded) fds.push_back({f.upstream.get(), POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), 500);
    if (ready < 0 && errno != EINTR) throw_sys("poll", "dns server");
    for (size_t i = 1; ready > 0 && i < first_upstream; ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      ssize_t n =
          ::recvfrom(fds[i].fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n > 0) answer({buf.begin(), buf.begin() + n}, ids[i - 1], from, from_len, forwarded);
    }
    // Upstream answers go back as they are; silent upstreams get SERVFAIL.
    const auto now = Clock::now();
    for (size_t i = 0; i < forwarded.size(); ++i) {
      auto& f = forwarded[i];
      const pollfd& p = fds[first_upstream + i];
      ssize_t n =
          ready > 0 && (p.revents & POLLIN) ? ::recv(f.upstream.get(), buf.data(), buf.size(), 0) : -1;
      if (n > 0)
        reply(f.client_id, {buf.begin(), buf.begin() + n}, f.from, f.from_len);
      else if (now > f.deadline)
        reply(f.client_id, server_failure(f.query), f.from, f.from_len);
      else
        continue;
      f.upstream.reset();  // answered: erased below
    }
    std::erase_if(forwarded, [](const Forwarded& f) { return f.upstream.get() < 0; });
    // Last: it may add or close client sockets, whose pollfds are stale now.
    if (ready > 0 && (fds[0].revents & POLLIN)) on_control();
    reload_leases_if_changed();
    drop_departed_clients();
    if (any_attached(leases_) || !forwarded.empty()) idle_since = now;
    if (now - idle_since > std::chrono::milliseconds(o_.idle_exit_ms)) return;
  }
}

}  // namespace mctr::net
