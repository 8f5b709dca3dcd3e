#include "linux/net/nlmsg.h"

#include <sys/socket.h>

#include <cerrno>

#include "util/error.h"

namespace mctr::net::nl {

constexpr size_t kReceiveBuffer = 32 * 1024;  // the most the kernel puts in one dump recv()

void send(int fd, const char* bytes, size_t len, const std::string& what) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
  ssize_t n;
  do n = ::sendto(fd, bytes, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_sys("sendto", what);
}

void read_answers(int fd, const std::string& what, const std::function<bool(const nlmsghdr&)>& on_message) {
  std::vector<char> buf(kReceiveBuffer);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    sockaddr_nl from{};
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd, &mh, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("recvmsg", what);
    if (mh.msg_flags & MSG_TRUNC)
      throw Error("recvmsg(" + what + "): answer larger than " + std::to_string(kReceiveBuffer) + " bytes");
    if (from.nl_pid != 0) continue;  // not from the kernel

    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
      if (on_message(*h)) return;
  }
}

int error_of(const nlmsghdr& h) {
  const auto* e = fixed_header<nlmsgerr>(h);
  return e ? -e->error : EPROTO;
}

}  // namespace mctr::net::nl
