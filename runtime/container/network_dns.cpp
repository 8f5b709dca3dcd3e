#include "container/network_dns.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "linux/namespaces.h"
#include "linux/net/dns_server.h"
#include "linux/net/netns.h"
#include "linux/net/network.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::container {

namespace {

std::filesystem::path state_dir(const NetworkDef& n) { return net::Network::host_state_dir(n.bridge); }

// The server's control socket: one request per connection, "serve ID" with
// the container's socket attached, or "drop ID"; the server answers "ok".
std::filesystem::path control_path(const std::filesystem::path& dir) { return dir / "dns.sock"; }

sockaddr_un unix_address(const std::filesystem::path& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof a.sun_path) throw Error("socket path too long: " + path.string());
  std::strcpy(a.sun_path, path.c_str());
  return a;
}

// Ask the server listening on `control` (with `fd` attached if >= 0).
// false when none listens there (none runs, or it is exiting) or it
// refused.
bool ask_server(const std::filesystem::path& control, const std::string& request, int fd) {
  UniqueFd s(check_sys(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), "socket", "AF_UNIX"));
  const sockaddr_un a = unix_address(control);
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) return false;
  const timeval timeout{2, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  try {
    if (fd >= 0)
      linux_ns::SyncChannel::send_with_fd(s.get(), request, fd);
    else
      linux_ns::SyncChannel::send(s.get(), request);
    std::vector<UniqueFd> none;
    return linux_ns::SyncChannel::recv_with_fds(s.get(), none) == "ok";
  } catch (const Error&) {
    return false;  // reset by a server that exited meanwhile, or a timeout
  }
}

// Server side: the control socket, in place of a previous server's (that
// one, if still there, is exiting: we hold the lock).
UniqueFd listen_control(const std::filesystem::path& dir) {
  const auto path = control_path(dir);
  UniqueFd s(
      check_sys(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket", "AF_UNIX"));
  const sockaddr_un a = unix_address(path);
  ::unlink(path.c_str());
  check_sys(::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), "bind", path);
  check_sys(::listen(s.get(), 64), "listen", path);
  return s;
}

// Server side: answer every request waiting on the control socket.
void answer_requests(int control, net::DnsServer& server) {
  while (true) {
    UniqueFd conn(::accept4(control, nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.get() < 0) return;   // EAGAIN: none left
    const timeval timeout{1, 0};  // a client that never speaks does not stall the network's DNS
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    try {
      std::vector<UniqueFd> fds;
      const std::string request = linux_ns::SyncChannel::recv_with_fds(conn.get(), fds).value_or("");
      std::string reply = "ok";
      if (request.rfind("serve ", 0) == 0 && fds.size() == 1)
        server.add_client(request.substr(6), std::move(fds.front()));
      else if (request.rfind("drop ", 0) == 0)
        server.drop_client(request.substr(5));
      else
        reply = "bad request";
      linux_ns::SyncChannel::send(conn.get(), reply);
    } catch (const Error& e) {
      std::cerr << "dns.sock: " << e.what() << std::endl;
    }
  }
}

// The server's lock: taken (LOCK_NB) by the server for its whole life. -1
// when another process holds it.
UniqueFd try_lock(const std::filesystem::path& dir) {
  const auto path = dir / "dns.lock";
  UniqueFd fd(check_sys(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600), "open", path));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return UniqueFd();
    throw_sys("flock", path);
  }
  return fd;
}

// Start `minictr network dns-serve` as a daemon: a fork that starts it in a
// new session and exits at once (we reap it), so the server is nobody's
// child here and outlives this process. Returns what it wrote on its stdout
// (our pipe) before closing it: "ok" or an error.
std::string spawn_server(const NetworkDef& n) {
  const auto dir = state_dir(n);
  const std::string log = (dir / "dns.log").string();
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> args{"minictr", "network", "dns-serve", "--bridge", n.bridge};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int p[2];
  check_sys(::pipe2(p, O_CLOEXEC), "pipe2");
  UniqueFd read_end(p[0]), write_end(p[1]);
  UniqueFd devnull(check_sys(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  UniqueFd log_fd(
      check_sys(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), "open", log));
  pid_t child = check_sys(::fork(), "fork");
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    // The caller (a supervisor) blocks the signals it forwards: ours must
    // reach the server again (stop_network_dns sends SIGTERM).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(devnull.get(), 0);
    ::dup2(write_end.get(), 1);
    ::dup2(log_fd.get(), 2);
    // Only 0-2 go on: the server lives on after the supervisor that starts
    // it, and must not keep any of its pipes or sockets open.
    ::close_range(3, ~0U, 0);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::waitpid(child, nullptr, 0);
  write_end.reset();
  std::string said;
  pollfd pfd{read_end.get(), POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  char buf[256];
  while (std::chrono::steady_clock::now() < deadline && ::poll(&pfd, 1, 100) >= 0) {
    if (!(pfd.revents & (POLLIN | POLLHUP))) continue;
    ssize_t r = ::read(read_end.get(), buf, sizeof buf);
    if (r <= 0) break;
    said.append(buf, static_cast<size_t>(r));
  }
  while (!said.empty() && said.back() == '\n') said.pop_back();
  return said.empty() ? "the name server did not answer (see " + log + ")" : said;
}

bool any_attached(const std::map<std::string, net::Lease>& leases) {
  for (const auto& [id, l] : leases)
    if (l.attached) return true;
  return false;
}

}  // namespace

bool start_network_dns(const NetworkDef& n) {
  const auto dir = state_dir(n);
  fs::mkdir_p(dir, 0700);
  if (try_lock(dir).get() < 0) return true;  // running: it holds the lock
  // Failed (the reason is in dns.log): the containers get the host's name servers.
  return spawn_server(n) == "ok";
}

std::string serve_container_dns(const NetworkDef& n, const std::string& id, pid_t pid) {
  const auto control = control_path(state_dir(n));
  explain::step("setns+socket(2)", "nsenter --net=/proc/" + std::to_string(pid) +
                                       "/ns/net: a UDP socket bound to " + net::kResolverAddress +
                                       ":53, sent to " + n.name + "'s name server over " + control.string() +
                                       " (SCM_RIGHTS)");
  UniqueFd socket;
  net::run_in_netns(pid, [&] { socket = net::bind_resolver_socket(); });
  // A server found running may be exiting (idle for a while): it refuses,
  // and the next attempt starts a new one.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!start_network_dns(n)) return "";
    if (ask_server(control, "serve " + id, socket.get())) return net::kResolverAddress;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

void stop_container_dns(const NetworkDef& n, const std::string& id) noexcept {
  try {
    ask_server(control_path(state_dir(n)), "drop " + id, -1);
  } catch (const std::exception&) {
    // No server: nothing to drop.
  }
}

std::string network_name_server(const Store& store, const NetworkMode& network_mode, const std::string& id,
                                pid_t pid) {
  if (network_mode.kind != NetworkMode::Kind::kUser) return "";
  auto n = Networks(store).find(network_mode.target);
  return n ? serve_container_dns(*n, id, pid) : "";
}

void stop_network_dns(const NetworkDef& n) {
  const auto dir = state_dir(n);
  if (!std::filesystem::exists(dir / "dns.lock")) return;
  if (try_lock(dir).get() >= 0) return;  // not running
  // The lock is held: dns.pid is the holder's (written after it took the lock).
  const auto pid_text = fs::read_file_if_exists(dir / "dns.pid");
  if (!pid_text) return;
  const pid_t pid = std::stoi(*pid_text);
  if (pid > 1) ::kill(pid, SIGTERM);
  for (int i = 0; i < 100 && try_lock(dir).get() < 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

int serve_network_dns(const std::string& bridge) {
  const auto dir = net::Network::host_state_dir(bridge);
  fs::mkdir_p(dir, 0700);
  UniqueFd lock = try_lock(dir);
  if (lock.get() < 0) {  // another server came first: it answers
    std::cout << "ok" << std::endl;
    return 0;
  }
  fs::write_file_atomic(dir / "dns.pid", std::to_string(::getpid()) + "\n", 0600, false);
  net::DnsServer::Options o;
  o.lease_dir = dir;
  o.networks_dir = dir.parent_path();  // a sender's other networks answer too (dns_server.h)
  o.upstreams = net::name_servers_of(fs::read_file_if_exists("/etc/resolv.conf").value_or(""));
  try {
    UniqueFd control = listen_control(dir);
    net::DnsServer server(o);
    std::cout << "ok" << std::endl;
    // Nobody reads our stdout any more: the pipe's reader has gone.
    UniqueFd devnull(check_sys(::open("/dev/null", O_WRONLY | O_CLOEXEC), "open", "/dev/null"));
    ::dup2(devnull.get(), 1);
    // Idle: give the lock up first, then look once more. A container that
    // attached meanwhile found the lock still held and handed us its socket,
    // unless a new server took the lock in between: then we exit, and a
    // request still waiting on our dns.sock fails and goes to the new one.
    while (true) {
      server.run(control.get(), [&] { answer_requests(control.get(), server); });
      lock.reset();
      if (!any_attached(net::read_leases(net::lease_file(dir)))) break;
      lock = try_lock(dir);
      if (lock.get() < 0) return 0;
    }
  } catch (const std::exception& e) {
    std::cout << "name server of " << bridge << ": " << e.what() << std::endl;
    std::cerr << "name server of " << bridge << ": " << e.what() << std::endl;
    return 125;
  }
  return 0;
}

}  // namespace mctr::container
