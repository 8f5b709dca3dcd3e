// Helpers for the network tests: "containers" that are just child processes
// in their own network namespace, TCP probes, and a fixture that gives each
// test its own bridge / subnet / nft table and removes them even on failure.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "linux/net/ipv4.h"
#include "linux/net/netlink.h"
#include "linux/net/netns.h"
#include "linux/net/network.h"
#include "linux/net/nft.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/scope_guard.h"

namespace mctr::net::testing {

// A child process alone in a new network namespace (only `lo`, down). It
// waits until the pipe closes, so it dies with the test process too.
class NetnsChild {
 public:
  NetnsChild() {
    int ready[2], hold[2];
    check_sys(::pipe2(ready, O_CLOEXEC), "pipe2");
    check_sys(::pipe2(hold, O_CLOEXEC), "pipe2");
    pid_ = check_sys(::fork(), "fork");
    if (pid_ == 0) {  // child: only async-signal-safe calls after fork
      ::close(ready[0]);
      ::close(hold[1]);
      char ok = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
      char c;
      while (::read(hold[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    hold_.reset(hold[1]);
    char ok = 'n';
    bool got = ::read(ready[0], &ok, 1) == 1;
    ::close(ready[0]);
    if (!got || ok != 'y') {
      stop();
      throw Error("test child could not unshare(CLONE_NEWNET)");
    }
  }
  ~NetnsChild() { stop(); }
  NetnsChild(const NetnsChild&) = delete;
  NetnsChild& operator=(const NetnsChild&) = delete;

  pid_t pid() const { return pid_; }
  void stop() {
    if (pid_ <= 0) return;
    hold_.reset();
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd hold_;
};

inline sockaddr_in sockaddr_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(parse_ipv4(ip));
  return a;
}

// A TCP listener on 0.0.0.0:port; inside the netns of `pid` when pid > 0.
inline UniqueFd tcp_listener(pid_t pid, uint16_t port) {
  UniqueFd fd;
  auto make = [&] {
    fd.reset(check_sys(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket"));
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = sockaddr_of("0.0.0.0", port);
    check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), "bind");
    check_sys(::listen(fd.get(), 16), "listen");
  };
  if (pid > 0)
    run_in_netns(pid, make);
  else
    make();
  return fd;
}

struct Probe {
  bool connected = false;
  std::string received;  // what the listener read
  std::string peer_ip;   // source address the listener saw
};

// Connect from the netns of `from_pid` (host when 0) to ip:port, send a
// message and read it on `listener` (which must be the one behind ip:port).
inline Probe tcp_probe(pid_t from_pid, const std::string& ip, uint16_t port, int listener,
                       int timeout_ms = 2000) {
  Probe result;
  UniqueFd client;
  auto make = [&] {
    client.reset(check_sys(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket"));
  };
  if (from_pid > 0)
    run_in_netns(from_pid, make);
  else
    make();
  sockaddr_in a = sockaddr_of(ip, port);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS)
    return result;
  pollfd pw{client.get(), POLLOUT, 0};
  if (::poll(&pw, 1, timeout_ms) != 1) return result;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return result;
  result.connected = true;

  pollfd pl{listener, POLLIN, 0};
  if (::poll(&pl, 1, timeout_ms) != 1) return result;
  sockaddr_in peer{};
  len = sizeof peer;
  UniqueFd conn(::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (!conn) return result;
  result.peer_ip = format_ipv4(ntohl(peer.sin_addr.s_addr));
  const char msg[] = "hello";
  if (::send(client.get(), msg, 5, MSG_NOSIGNAL) != 5) return result;
  pollfd pc{conn.get(), POLLIN, 0};
  if (::poll(&pc, 1, timeout_ms) != 1) return result;
  char buf[16];
  ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
  if (n > 0) result.received.assign(buf, static_cast<size_t>(n));
  return result;
}

// Each test: its own state dir, bridge, /24 and table, named after the test
// process, and a machine-wide lock so two net test processes (ctest -j) never
// run at once. TearDown removes whatever is left, even after a failure.
class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    lock_.emplace("/tmp/minictr-unit-net.lock");
    char tmpl[] = "/tmp/minictr-net-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    state_dir_ = tmpl;
    const pid_t me = ::getpid();
    opts_.bridge = "mtb" + std::to_string(me % 100000);
    opts_.table = "minictr_test_" + std::to_string(me);
    opts_.subnet = "10.231." + std::to_string(me % 250) + ".0/24";
    opts_.lease_dir = state_dir_;
    // The host-wide files (the subnet lock) go under the test's dir too.
    ::setenv("MINICTR_RUN_DIR", state_dir_.c_str(), 1);
    gateway_ = format_ipv4(Subnet::parse(opts_.subnet).gateway());
  }

  void TearDown() override {
    if (!lock_) return;
    // Every test detaches what it attached: no host veth of ours may be left
    // while the "containers" still live (after they die the kernel would hide it).
    try {
      NlSocket sk;
      for (const std::string& name : link_names(sk))
        if (name.rfind(veth_prefix(), 0) == 0) ADD_FAILURE() << "leftover veth " << name;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "listing links: " << e.what();
    }
    children_.clear();  // kill the "containers": their netns (and eth0 ends) go away
    try {
      NlSocket sk;
      for (const std::string& name : link_names(sk))
        if (name.rfind(veth_prefix(), 0) == 0 || name == opts_.bridge) link_delete(sk, name);
      Nft nft;
      if (nft.table_exists(opts_.table)) nft.run("delete table ip " + opts_.table);
      if (nft.table_exists(opts_.table, Family::kIp6)) nft.run("delete table ip6 " + opts_.table);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cleanup: " << e.what();
    }
    std::error_code ec;
    std::filesystem::remove_all(state_dir_, ec);
    lock_.reset();
  }

  Network make_network() { return Network(state_dir_, opts_); }

  NetnsChild& new_child() {
    children_.push_back(std::make_unique<NetnsChild>());
    return *children_.back();
  }

  // Container ids whose first 8 characters are unique to this process, so the
  // host veth names ("mctr" + 8) never clash with anything else.
  std::string veth_prefix() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "mctr%05x", static_cast<unsigned>(::getpid()) & 0xfffff);
    return buf;  // "mctr" + the first 5 characters of every container_id() below
  }
  std::string container_id(int n) const {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%05x%03x", static_cast<unsigned>(::getpid()) & 0xfffff, n & 0xfff);
    return std::string(buf) + std::string(56, 'a');
  }

  std::optional<FileLock> lock_;
  std::filesystem::path state_dir_;
  Network::Options opts_;
  std::string gateway_;
  std::vector<std::unique_ptr<NetnsChild>> children_;
};

}  // namespace mctr::net::testing
