#include "container/network_dns.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "linux/net/dns_server.h"
#include "linux/net/ipv4.h"
#include "linux/net/network.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::container {

namespace {

std::filesystem::path state_dir(const NetworkDef& n) { return net::Network::host_state_dir(n.bridge); }

std::string gateway_of(const NetworkDef& n) {
  return net::format_ipv4(net::Subnet::parse(n.subnet).gateway());
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
  const std::string gateway = gateway_of(n);
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> args{"minictr", "network", "dns-serve", "--bridge", n.bridge, "--listen", gateway};
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

std::string start_network_dns(const NetworkDef& n) {
  const auto dir = state_dir(n);
  fs::mkdir_p(dir, 0700);
  if (try_lock(dir).get() < 0) return gateway_of(n);  // running: it holds the lock
  const std::string said = spawn_server(n);
  if (said == "ok") return gateway_of(n);
  // Port 53 taken on the bridge address, for one: the container gets the host's name servers.
  return "";
}

std::string network_name_server(const Store& store, const std::string& network_mode) {
  if (network_mode == "bridge" || !attaches_to_bridge(network_mode)) return "";
  auto n = Networks(store).find(network_mode);
  return n ? start_network_dns(*n) : "";
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

int serve_network_dns(const std::string& bridge, const std::string& listen_ip) {
  const auto dir = net::Network::host_state_dir(bridge);
  fs::mkdir_p(dir, 0700);
  UniqueFd lock = try_lock(dir);
  if (lock.get() < 0) {  // another server came first: it answers
    std::cout << "ok" << std::endl;
    return 0;
  }
  fs::write_file_atomic(dir / "dns.pid", std::to_string(::getpid()) + "\n", 0600, false);
  net::DnsServer::Options o;
  o.listen_ip = listen_ip;
  o.lease_dir = dir;
  o.networks_dir = dir.parent_path();  // a sender's other networks answer too (dns_server.h)
  o.upstreams = net::name_servers_of(fs::read_file_if_exists("/etc/resolv.conf").value_or(""));
  try {
    net::DnsServer server(o);
    std::cout << "ok" << std::endl;
    // Nobody reads our stdout any more: the pipe's reader has gone.
    UniqueFd devnull(check_sys(::open("/dev/null", O_WRONLY | O_CLOEXEC), "open", "/dev/null"));
    ::dup2(devnull.get(), 1);
    // Idle: give the lock up first, then look once more. A container that
    // attached meanwhile found the lock still held and counts on us, unless
    // a new server took the lock in between (SO_REUSEADDR lets it bind).
    while (true) {
      server.run();
      lock.reset();
      if (!any_attached(net::read_leases(dir / "ipam.json"))) break;
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
