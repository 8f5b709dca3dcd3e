#include "linux/net/nlmsg.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdio>

#include "util/error.h"

namespace mctr::net::nl {

namespace {

constexpr size_t kReceiveBuffer = 32 * 1024;  // the most the kernel puts in one dump recv()

using Clock = std::chrono::steady_clock;

// "5 s", "0.1 s".
std::string seconds(std::chrono::milliseconds t) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(t.count()) / 1000);
  return text;
}

[[noreturn]] void throw_no_answer(const Socket& sk, const std::string& what) {
  throw Error("netlink: no answer from the kernel within " + seconds(sk.timeout()) + " to " + what);
}

[[noreturn]] void throw_malformed(const std::string& what, const std::string& detail) {
  throw Error("netlink: malformed answer to " + what + ": " + detail);
}

}  // namespace

void Message::check_attr_len(uint16_t type, size_t len) {
  if (len > kMaxAttrLen)
    throw Error("netlink: attribute " + std::to_string(type) + " would be " + std::to_string(len) +
                " bytes, over the " + std::to_string(kMaxAttrLen) + " an attribute can hold");
}

// The kernel's own rule (nla_ok): the length covers at least the header and
// stays inside what is left. Padding after the last attribute may be missing.
void Attrs::parse(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  size_t pos = 0;
  while (pos < len) {
    const size_t left = len - pos;
    rtattr a;
    if (left < sizeof a)
      throw Error("netlink: " + std::to_string(left) + " stray bytes after the attributes");
    std::memcpy(&a, p + pos, sizeof a);
    if (a.rta_len < sizeof a || a.rta_len > left)
      throw Error("netlink: attribute " + std::to_string(a.rta_type) + " has length " +
                  std::to_string(a.rta_len) + " with " + std::to_string(left) + " bytes left");
    // Newer kernels flag nested attributes with NLA_F_NESTED in the type.
    by_type_[a.rta_type & NLA_TYPE_MASK] = reinterpret_cast<const rtattr*>(p + pos);
    pos += std::min<size_t>(RTA_ALIGN(a.rta_len), left);
  }
}

Socket::Socket(int protocol, const char* name, std::chrono::milliseconds timeout)
    : Socket(UniqueFd(check_sys(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "socket", name)),
             timeout) {}

Socket::Socket(UniqueFd fd, std::chrono::milliseconds timeout) : fd_(std::move(fd)), timeout_(timeout) {
  // recvmsg() gives up after this with EAGAIN: a lost answer cannot block us.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  check_sys(::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "setsockopt", "SO_RCVTIMEO");
}

uint32_t Socket::send(Message& m, const std::string& what) {
  const uint32_t seq = next_seq();
  nl::send(*this, m.finish(seq), m.size(), what);
  return seq;
}

void send(const Socket& sk, const char* bytes, size_t len, const std::string& what) {
  // No address: an unconnected netlink socket sends to port 0, the kernel.
  ssize_t n;
  do n = ::send(sk.fd(), bytes, len, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_sys("send", what);
}

bool for_each_message(const char* buf, size_t len, const std::string& what,
                      const std::function<bool(const nlmsghdr&)>& on_message) {
  size_t pos = 0;
  while (pos < len) {
    const size_t left = len - pos;
    nlmsghdr h;
    if (left < sizeof h) throw_malformed(what, std::to_string(left) + " stray bytes after the messages");
    std::memcpy(&h, buf + pos, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > left)
      throw_malformed(what, "message length " + std::to_string(h.nlmsg_len) + " with " +
                                std::to_string(left) + " bytes left");
    // The receive buffer comes from new (aligned) and messages start 4-aligned.
    if (on_message(*reinterpret_cast<const nlmsghdr*>(buf + pos))) return true;
    pos += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), left);
  }
  return false;
}

void read_answers(const Socket& sk, const std::string& what,
                  const std::function<bool(const nlmsghdr&)>& on_message) {
  // SO_RCVTIMEO bounds each recvmsg(); this bounds the whole wait, in case
  // answers keep coming that are not the one awaited (stale sequence numbers).
  const Clock::time_point deadline = Clock::now() + sk.timeout();
  std::vector<char> buf(kReceiveBuffer);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    sockaddr_nl from{};  // stays all zero for a socketpair stand-in (no address)
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = ::recvmsg(sk.fd(), &mh, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw_no_answer(sk, what);
    if (n < 0) throw_sys("recvmsg", what);
    if (mh.msg_flags & MSG_TRUNC)
      throw Error("recvmsg(" + what + "): answer larger than " + std::to_string(kReceiveBuffer) + " bytes");
    if (from.nl_pid == 0 && for_each_message(buf.data(), static_cast<size_t>(n), what, on_message)) return;
    if (Clock::now() >= deadline) throw_no_answer(sk, what);
  }
}

int error_of(const nlmsghdr& h) {
  const auto* e = fixed_header<nlmsgerr>(h);
  return e ? -e->error : EPROTO;
}

int dump(Socket& sk, Message& request, const std::string& what, const std::function<void()>& restart,
         const std::function<void(const nlmsghdr&)>& on_object) {
  request.add_flags(NLM_F_DUMP);
  for (int attempt = 1;; ++attempt) {
    bool interrupted = false;
    int err = 0;
    const uint32_t seq = sk.send(request, what);
    // Read to the end even when interrupted: the rest of this dump must not
    // be mistaken for answers to the next request.
    read_answers(sk, what, [&](const nlmsghdr& h) {
      if (h.nlmsg_seq != seq) return false;  // left over from an earlier request
      if (h.nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h.nlmsg_type == NLMSG_ERROR) {
        err = error_of(h);
        return true;
      }
      if (h.nlmsg_type == NLMSG_DONE) {
        // NLMSG_DONE carries an int: negative if the dump failed half-way.
        const auto* status = fixed_header<int>(h);
        if (status && *status < 0) err = -*status;
        return true;
      }
      on_object(h);
      return false;
    });
    if (err || !interrupted) return err;
    if (attempt == kDumpTries)
      throw Error("netlink: " + what + ": the kernel interrupted the dump " + std::to_string(kDumpTries) +
                  " times (the table kept changing)");
    restart();
  }
}

}  // namespace mctr::net::nl
