// container/protocol.h: the messages between the CLI, the supervisor and an
// init (minictr run's, and minictr-runc create's: RunHooks, HooksDone, Ready).
#include "container/protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "expect_error.h"
#include "util/fd.h"

namespace mctr::container::protocol {

namespace {

constexpr Kind kAll[] = {
    Kind::Go,       Kind::SetupFailed, Kind::Started, Kind::StartFailed,    Kind::Exited,
    Kind::MountNs,  Kind::NetNs,       Kind::Cgroup,  Kind::HandoffFailed,  Kind::RootFs,
    Kind::RunHooks, Kind::HooksDone,   Kind::Ready,   Kind::SeccompProgram, Kind::Console};

struct Pair {
  UniqueFd a, b;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
      throw std::runtime_error("socketpair");
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

}  // namespace

TEST(Protocol, EveryKindRoundTrips) {
  for (Kind k : kAll) {
    Message m{k, -1234567890123, std::string("text\n\0byte", 10)};
    EXPECT_EQ(decode(encode(m)), m) << describe(m);
  }
}

TEST(Protocol, RefusesUnknownKindsAndShortMessages) {
  std::string bytes = encode({Kind::Console, 0, ""});
  bytes[0] = static_cast<char>(static_cast<uint8_t>(Kind::Console) + 1);
  EXPECT_ERROR(decode(bytes), "unknown message kind");
  bytes[0] = 0;
  EXPECT_ERROR(decode(bytes), "unknown message kind 0");
  EXPECT_ERROR(decode(std::string(8, '\1')), "a message of 8 bytes");
}

// The bytes on the wire: kind, then the number as 8 little-endian bytes, then the text.
TEST(Protocol, WireFormat) {
  EXPECT_EQ(encode({Kind::Started, 258, "x"}), std::string("\x03\x02\x01\0\0\0\0\0\0x", 10));
  EXPECT_EQ(describe({Kind::StartFailed, 125, "no such image"}), "start-failed 125 no such image");
}

TEST(Protocol, DescribesTheRuncKinds) {
  EXPECT_EQ(describe({Kind::RunHooks, 0, ""}), "run-hooks 0");
  EXPECT_EQ(describe({Kind::HooksDone, 0, "{}"}), "hooks-done 0 {}");
  EXPECT_EQ(describe({Kind::Ready, 0, ""}), "ready 0");
  EXPECT_EQ(describe({Kind::Go, 0, ""}), "go");
}

TEST(Protocol, SendsTextNumberAndFdsOverOneSocket) {
  Pair p;
  send(p.a.get(), {Kind::HooksDone, 0, R"({"status":"creating"})"});
  auto m = recv(p.b.get());
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (Message{Kind::HooksDone, 0, R"({"status":"creating"})"}));

  // An fd rides along (SCM_RIGHTS): the same file arrives.
  send(p.b.get(), {Kind::SetupFailed, 127, "exec: \"x\": executable file not found in $PATH"}, {0});
  std::vector<UniqueFd> fds;
  m = recv(p.a.get(), &fds);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::SetupFailed);
  EXPECT_EQ(m->number, 127);
  ASSERT_EQ(fds.size(), 1U);
  struct stat sent, got;
  ASSERT_EQ(::fstat(0, &sent), 0);
  ASSERT_EQ(::fstat(fds[0].get(), &got), 0);
  EXPECT_EQ(sent.st_ino, got.st_ino);
  EXPECT_EQ(sent.st_dev, got.st_dev);
}

TEST(Protocol, ClosedPeerIsNoMessage) {
  Pair p;
  p.a.reset();
  EXPECT_FALSE(recv(p.b.get()));
  EXPECT_FALSE(send_if_listening(p.b.get(), {Kind::Exited, 0, ""}));
}

// The supervisor that fails before it reads the network namespace the CLI
// sent after "go": it answers, then exits with that message unread. The
// kernel then reports ECONNRESET to the CLI once, ahead of the answer.
TEST(Protocol, APeerThatLeftWithOurMessageUnreadStillGetsItsAnswerRead) {
  Pair p;
  send(p.b.get(), {Kind::StartFailed, 125, "bad settings"});
  send(p.a.get(), {Kind::NetNs, 0, ""});  // never read by b
  p.b.reset();
  auto m = recv(p.a.get());
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (Message{Kind::StartFailed, 125, "bad settings"}));
  EXPECT_FALSE(recv(p.a.get()));
}

}  // namespace mctr::container::protocol
