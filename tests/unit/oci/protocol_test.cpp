// The typed parent/child protocol: every kind survives encode/decode and a
// real SOCK_SEQPACKET socketpair, with fds; garbage is refused.
#include "container/protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "expect_error.h"

namespace p = mctr::container::protocol;

TEST(Protocol, EncodeDecodeEveryKind) {
  for (p::Message m :
       {p::Message{p::Kind::Go, 0, ""}, p::Message{p::Kind::SetupFailed, 127, "exec: \"nope\": not found"},
        p::Message{p::Kind::Started, 4194303, ""}, p::Message{p::Kind::StartFailed, 125, "a b  c"},
        p::Message{p::Kind::Exited, 137, ""}, p::Message{p::Kind::Exited, -1, std::string("\0x", 2)},
        p::Message{p::Kind::MountNs, 0, ""}, p::Message{p::Kind::NetNs, 0, ""},
        p::Message{p::Kind::Cgroup, 0, ""}, p::Message{p::Kind::HandoffFailed, 0, ""},
        p::Message{p::Kind::RootFs, 0, ""}})
    EXPECT_EQ(p::decode(p::encode(m)), m) << p::describe(m);
  EXPECT_EQ(p::encode({p::Kind::Started, 258, "x"}), std::string("\x03\x02\x01\0\0\0\0\0\0x", 10));
  EXPECT_EQ(p::describe({p::Kind::StartFailed, 125, "no such image"}), "start-failed 125 no such image");
}

TEST(Protocol, GarbageIsRefused) {
  EXPECT_ERROR(p::decode("started 12"), "unknown message kind 115");
  EXPECT_ERROR(p::decode(std::string("\x03\x01", 2)), "a message of 2 bytes");
  EXPECT_ERROR(p::decode(std::string(9, '\0')), "unknown message kind 0");
  EXPECT_ERROR(p::decode(std::string(1, '\x0b') + std::string(8, '\0')), "unknown message kind 11");
}

TEST(Protocol, OverASocketWithFds) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  mctr::UniqueFd a(sv[0]), b(sv[1]);
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  mctr::UniqueFd r(pipefd[0]), w(pipefd[1]);
  p::send(a.get(), {p::Kind::Started, 42, ""});
  p::send(a.get(), {p::Kind::Go, 0, "with fd"}, {w.get()});
  EXPECT_EQ(p::recv(b.get()), (p::Message{p::Kind::Started, 42, ""}));
  std::vector<mctr::UniqueFd> fds;
  EXPECT_EQ(p::recv(b.get(), &fds), (p::Message{p::Kind::Go, 0, "with fd"}));
  ASSERT_EQ(fds.size(), 1u);
  ASSERT_EQ(::write(fds[0].get(), "z", 1), 1);  // the received fd is the pipe's write end
  char c = 0;
  ASSERT_EQ(::read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'z');
  // The peer gone: recv says so, send_if_listening drops the message.
  a.reset();
  EXPECT_EQ(p::recv(b.get()), std::nullopt);
  EXPECT_FALSE(p::send_if_listening(b.get(), {p::Kind::Exited, 0, ""}));
  EXPECT_FALSE(p::send_if_listening(-1, {p::Kind::Exited, 0, ""}));
}
