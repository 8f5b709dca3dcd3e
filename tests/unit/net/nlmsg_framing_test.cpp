// Netlink message framing (nlmsg.h) and the nf_tables answers
// (nft_netlink.h) on byte fixtures: no root and no kernel needed. Requests
// are compared with hand-written bytes; answers are crafted bytes, some of
// them broken, handed over by a fake kernel on the other end of a
// socketpair(AF_UNIX, SOCK_DGRAM) (one datagram per recv(), like netlink).
#include <endian.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "linux/net/nft_netlink.h"
#include "linux/net/nlmsg.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::net {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<unsigned char>;

// The fixtures spell numbers little-endian, as x86 and arm64 send them.
static_assert(std::endian::native == std::endian::little, "byte fixtures are little-endian");

Bytes bytes_of(const char* data, size_t len) { return Bytes(data, data + len); }

// ---------------------------------------------------------------------------
// Crafting answers

std::string le16(uint16_t v) { return std::string{char(v & 0xff), char(v >> 8)}; }
std::string le32(uint32_t v) { return le16(uint16_t(v & 0xffff)) + le16(uint16_t(v >> 16)); }
std::string pad4(std::string s) { return s.append((4 - s.size() % 4) % 4, '\0'); }

// An attribute: {len, type} + payload, padded.
std::string attr(uint16_t type, const std::string& payload) {
  return pad4(le16(uint16_t(4 + payload.size())) + le16(type) + payload);
}

// A message: nlmsghdr {len, type, flags, seq, pid 0} + body.
std::string message(uint16_t type, uint16_t flags, uint32_t seq, const std::string& body) {
  return le32(uint32_t(16 + body.size())) + le16(type) + le16(flags) + le32(seq) + le32(0) + body;
}

// NLMSG_ERROR: the (negative) errno, then the header of the request it answers.
std::string error_message(uint32_t seq, int err) {
  return message(NLMSG_ERROR, 0, seq, le32(uint32_t(err)) + message(0, 0, seq, "").substr(0, 16));
}

const std::string kNfgenIp = std::string{char(NFPROTO_IPV4), 0, 0, 0};  // family, version, res_id

// NFT_MSG_NEWRULE as a rule dump sends it: table, chain, handle (big-endian)
// and the comment in libnftnl's user data {type 0, len, "text\0"}.
std::string rule(uint32_t seq, uint16_t flags, const std::string& chain, uint64_t handle,
                 const std::string& comment) {
  const uint64_t be = htobe64(handle);
  const std::string udata = std::string{0, char(comment.size() + 1)} + comment + '\0';
  return message((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, NLM_F_MULTI | flags, seq,
                 kNfgenIp + attr(NFTA_RULE_TABLE, std::string("minictr") + '\0') +
                     attr(NFTA_RULE_CHAIN, chain + '\0') +
                     attr(NFTA_RULE_HANDLE, std::string(reinterpret_cast<const char*>(&be), 8)) +
                     attr(NFTA_RULE_USERDATA, udata));
}

std::string done(uint32_t seq, uint16_t flags = 0) {
  return message(NLMSG_DONE, NLM_F_MULTI | flags, seq, le32(0));
}

// ---------------------------------------------------------------------------
// A fake kernel: answers each request datagram with reply(seq, request).

class FakeKernel {
 public:
  using Reply = std::function<std::vector<std::string>(uint32_t seq, const std::string& request)>;

  explicit FakeKernel(Reply reply) : reply_(std::move(reply)) {
    int sv[2];
    check_sys(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), "socketpair");
    client_ = UniqueFd(sv[0]);
    kernel_ = UniqueFd(sv[1]);
    timeval tv{0, 20 * 1000};  // so the thread sees stop_ soon
    ::setsockopt(kernel_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeKernel() {
    stop_ = true;
    thread_.join();
  }

  UniqueFd client() { return std::move(client_); }  // the end minictr's code talks on
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    std::vector<char> buf(64 * 1024);
    while (!stop_) {
      ssize_t n = ::recv(kernel_.get(), buf.data(), buf.size(), 0);
      if (n < 16) continue;  // timeout (or too short to answer)
      std::string request(buf.data(), size_t(n));
      uint32_t seq;
      std::memcpy(&seq, buf.data() + 8, sizeof seq);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      for (const std::string& d : reply_(seq, request)) ::send(kernel_.get(), d.data(), d.size(), 0);
    }
  }

  Reply reply_;
  UniqueFd client_, kernel_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// Building requests

TEST(NetNlFraming, MessageBytes) {
  nl::Message m(RTM_GETLINK, NLM_F_ACK, ifinfomsg{});
  m.put_string(IFLA_IFNAME, "lo");
  const char* out = m.finish(7);
  const Bytes expected = {
      0x28, 0,   0, 0,                                      // nlmsg_len 40
      0x12, 0,                                              // RTM_GETLINK
      0x05, 0,                                              // NLM_F_REQUEST | NLM_F_ACK
      7,    0,   0, 0,                                      // seq
      0,    0,   0, 0,                                      // pid: the kernel fills it in
      0,    0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // ifinfomsg
      7,    0,   3, 0,                                      // rta_len 7 (not counting padding), IFLA_IFNAME
      'l',  'o', 0, 0,                                      // "lo\0" + 1 byte of padding
  };
  EXPECT_EQ(bytes_of(out, m.size()), expected);
}

TEST(NetNlFraming, NestedAttributeLengthCoversItsChildren) {
  nl::Message m(RTM_NEWLINK, 0, ifinfomsg{});
  m.nested(IFLA_LINKINFO, [&] { m.put_string(IFLA_INFO_KIND, "veth"); });
  const char* out = m.finish(1);
  const Bytes tail(out + 32, out + m.size());  // after nlmsghdr + ifinfomsg
  const Bytes expected = {
      16,  0,   18,  0,    // IFLA_LINKINFO, 4 + 12 bytes
      9,   0,   1,   0,    // IFLA_INFO_KIND, 4 + 5 bytes
      'v', 'e', 't', 'h',  //
      0,   0,   0,   0,    // NUL + padding
  };
  EXPECT_EQ(tail, expected);
  EXPECT_EQ(m.size(), 48u);
}

TEST(NetNlFraming, AttributeOver65535BytesThrowsInsteadOfWrapping) {
  nl::Message m(RTM_NEWLINK, 0, ifinfomsg{});
  const std::string big(65531, 'x');  // 4 + 65531 = 65535: the largest
  EXPECT_NO_THROW(m.put(IFLA_IFALIAS, big.data(), big.size()));
  const std::string too_big(65532, 'x');  // 65536 would be sent as 0
  EXPECT_THROW(m.put(IFLA_IFALIAS, too_big.data(), too_big.size()), Error);

  // Each child fits, the nest holding them does not.
  nl::Message n(RTM_NEWLINK, 0, ifinfomsg{});
  const std::string half(40000, 'x');
  EXPECT_THROW(n.nested(IFLA_LINKINFO,
                        [&] {
                          n.put(IFLA_INFO_DATA, half.data(), half.size());
                          n.put(IFLA_INFO_DATA, half.data(), half.size());
                        }),
               Error);
}

// ---------------------------------------------------------------------------
// Reading attributes and messages

TEST(NetNlFraming, AttributesParseLastOneUnpadded) {
  const std::string buf = attr(1, "ab") + le16(5) + le16(2) + "c";  // the last one without padding
  nl::Attrs a(buf.data(), buf.size());
  EXPECT_EQ(a.string(1), "ab");
  EXPECT_EQ(a.string(2), "c");
}

TEST(NetNlFraming, AttributeShorterThanItsHeaderIsRejected) {
  const std::string buf = attr(1, "ab") + le16(2) + le16(2) + "xxxx";
  EXPECT_THROW(nl::Attrs(buf.data(), buf.size()), Error);
}

TEST(NetNlFraming, AttributeRunningPastTheBufferIsRejected) {
  const std::string buf = le16(100) + le16(1) + "abcd";  // claims 100 bytes, has 8
  EXPECT_THROW(nl::Attrs(buf.data(), buf.size()), Error);
  // Also inside a message: nlmsg_len is right, the attribute is not.
  const std::string m = message(RTM_NEWLINK, 0, 1, std::string(16, '\0') + buf);
  EXPECT_THROW(nl::Attrs(*reinterpret_cast<const nlmsghdr*>(m.data()), sizeof(ifinfomsg)), Error);
}

std::vector<uint32_t> seqs_of(const std::string& datagram) {
  std::vector<uint32_t> seqs;
  nl::for_each_message(datagram.data(), datagram.size(), "test", [&](const nlmsghdr& h) {
    seqs.push_back(h.nlmsg_seq);
    return false;
  });
  return seqs;
}

TEST(NetNlFraming, MessagesOfOneDatagram) {
  // Each message starts 4-aligned; the last one's padding may be missing.
  EXPECT_EQ(seqs_of(pad4(message(NLMSG_NOOP, 0, 1, "x")) + message(NLMSG_NOOP, 0, 2, "y")),
            (std::vector<uint32_t>{1, 2}));
}

TEST(NetNlFraming, MessageLengthPastTheDatagramIsRejected) {
  std::string d = message(NLMSG_NOOP, 0, 1, "abcd");
  d[0] = 40;  // claims 40 bytes, has 20
  EXPECT_THROW(seqs_of(d), Error);
}

TEST(NetNlFraming, MessageLengthShorterThanItsHeaderIsRejected) {
  std::string d = message(NLMSG_NOOP, 0, 1, "abcd");
  d[0] = 8;  // would loop, or read a header out of its own fields
  EXPECT_THROW(seqs_of(d), Error);
  EXPECT_THROW(seqs_of(message(NLMSG_NOOP, 0, 1, "") + "xyz"), Error);  // stray bytes
}

// ---------------------------------------------------------------------------
// Deadlines

template <typename F>
std::string error_text(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NetNlDeadline, NoAnswerIsAClearErrorNotAHang) {
  FakeKernel kernel([](uint32_t, const std::string&) { return std::vector<std::string>{}; });
  nl::Socket sk(kernel.client(), 100ms);
  nl::Message m(RTM_GETLINK, NLM_F_ACK, ifinfomsg{});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_text([&] {
              sk.send(m, "RTM_GETLINK");
              nl::read_answers(sk, "RTM_GETLINK", [](const nlmsghdr&) { return true; });
            }),
            "netlink: no answer from the kernel within 0.1 s to RTM_GETLINK");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(NetNlDeadline, AnswersThatKeepComingForOtherRequestsDoNotExtendIt) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd kernel(sv[1]);
  nl::Socket sk(UniqueFd(sv[0]), 200ms);
  std::atomic<bool> stop{false};
  std::thread chatter([&] {  // a stale answer every 20 ms, each within SO_RCVTIMEO
    const std::string stale = error_message(99, 0);
    while (!stop) {
      ::send(kernel.get(), stale.data(), stale.size(), MSG_DONTWAIT);
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const std::string text = error_text(
      [&] { nl::read_answers(sk, "ACK of seq 1", [](const nlmsghdr& h) { return h.nlmsg_seq == 1; }); });
  const auto took = std::chrono::steady_clock::now() - start;
  stop = true;
  chatter.join();
  EXPECT_EQ(text, "netlink: no answer from the kernel within 0.2 s to ACK of seq 1");
  EXPECT_LT(took, 2s);
}

// ---------------------------------------------------------------------------
// nf_tables: the batch that deletes rules

const std::vector<TaggedRule> kOneRule = {{"forward", 5}};

TEST(NetNftBatch, DeleteBatchBytes) {
  FakeKernel kernel(
      [](uint32_t, const std::string&) { return std::vector<std::string>{error_message(2, 0)}; });
  NftNetlink nft(kernel.client(), 1s);
  nft.delete_rules("minictr", kOneRule, Family::kIp);
  ASSERT_EQ(kernel.requests().size(), 1u);  // one datagram: the whole batch
  const std::string got = kernel.requests()[0];
  const Bytes expected = {
      // NFNL_MSG_BATCH_BEGIN, seq 1; nfgenmsg: AF_UNSPEC, v0, res_id NFNL_SUBSYS_NFTABLES (big-endian)
      20,
      0,
      0,
      0,
      0x10,
      0,
      0x01,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      10,
      // NFT_MSG_DELRULE (10 << 8 | 8), NLM_F_REQUEST | NLM_F_ACK, seq 2; nfgenmsg: NFPROTO_IPV4
      56,
      0,
      0,
      0,
      0x08,
      0x0a,
      0x05,
      0,
      2,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      2,
      0,
      0,
      0,
      12,
      0,
      1,
      0,
      'm',
      'i',
      'n',
      'i',
      'c',
      't',
      'r',
      0,  // NFTA_RULE_TABLE
      12,
      0,
      2,
      0,
      'f',
      'o',
      'r',
      'w',
      'a',
      'r',
      'd',
      0,  // NFTA_RULE_CHAIN
      12,
      0,
      3,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      5,  // NFTA_RULE_HANDLE, big-endian 5
      // NFNL_MSG_BATCH_END, seq 3
      20,
      0,
      0,
      0,
      0x11,
      0,
      0x01,
      0,
      3,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      10,
  };
  EXPECT_EQ(Bytes(got.begin(), got.end()), expected);
}

// A batch the kernel refuses as a whole is answered against its first
// message, NFNL_MSG_BATCH_BEGIN, which asked for no ACK: it used to be
// skipped, and the loop waited for ACKs that never come.
TEST(NetNftBatch, ErrorForTheBatchBeginIsReported) {
  FakeKernel kernel(
      [](uint32_t seq, const std::string&) { return std::vector<std::string>{error_message(seq, -EPERM)}; });
  NftNetlink nft(kernel.client(), 2s);
  try {
    nft.delete_rules("minictr", kOneRule, Family::kIp);
    ADD_FAILURE() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.err(), EPERM);
    EXPECT_NE(std::string(e.what()).find("NFNL_MSG_BATCH_BEGIN"), std::string::npos) << e.what();
  }
}

TEST(NetNftBatch, ErrorForOneDeletionIsReported) {
  FakeKernel kernel(
      [](uint32_t, const std::string&) { return std::vector<std::string>{error_message(2, -ENOENT)}; });
  NftNetlink nft(kernel.client(), 2s);
  try {
    nft.delete_rules("minictr", kOneRule, Family::kIp);
    ADD_FAILURE() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("NFT_MSG_DELRULE(ip minictr)"), std::string::npos) << e.what();
  }
}

TEST(NetNftBatch, MissingAckTimesOut) {
  FakeKernel kernel([](uint32_t, const std::string&) { return std::vector<std::string>{}; });
  NftNetlink nft(kernel.client(), 100ms);
  EXPECT_EQ(error_text([&] { nft.delete_rules("minictr", kOneRule, Family::kIp); }),
            "netlink: no answer from the kernel within 0.1 s to NFT_MSG_DELRULE ip minictr");
}

// The real kernel does answer so: in a new user namespace (no
// CAP_NET_ADMIN over this network namespace) it refuses the batch with EPERM
// against NFNL_MSG_BATCH_BEGIN. Before, rm hung here forever.
TEST(NetNftBatch, RealKernelRefusesTheBatchAgainstItsBegin) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 3;
    try {
      if (::unshare(CLONE_NEWUSER) != 0) ::_exit(4);  // user namespaces disabled: skip
      NftNetlink nft;
      nft.delete_rules("minictr_unit_no_such_table", kOneRule, Family::kIp);
      code = 1;  // deleted?!
    } catch (const SysError& e) {
      code =
          e.err() == EPERM && std::string(e.what()).find("NFNL_MSG_BATCH_BEGIN") != std::string::npos ? 0 : 2;
    } catch (const Error&) {
      code = 5;  // e.g. the timeout: the error was skipped
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 4) GTEST_SKIP() << "no user namespaces";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---------------------------------------------------------------------------
// nf_tables: the rule dump

TEST(NetNftDump, TaggedRulesByComment) {
  FakeKernel kernel([](uint32_t seq, const std::string&) {
    return std::vector<std::string>{rule(seq, 0, "forward", 4, "other") + rule(seq, 0, "forward", 5, "abc"),
                                    rule(seq, 0, "postrouting", 6, "abc") + done(seq)};
  });
  NftNetlink nft(kernel.client(), 1s);
  auto rules = nft.rules_tagged("minictr", "abc", Family::kIp);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].chain, "forward");
  EXPECT_EQ(rules[0].handle, 5u);
  EXPECT_EQ(rules[1].chain, "postrouting");
  EXPECT_EQ(rules[1].handle, 6u);
}

TEST(NetNftDump, InterruptedDumpIsRestarted) {
  // The first dump is flagged NLM_F_DUMP_INTR (a rule was added meanwhile):
  // what it listed cannot be trusted. The second is clean.
  FakeKernel kernel([](uint32_t seq, const std::string&) {
    if (seq == 1)
      return std::vector<std::string>{rule(1, NLM_F_DUMP_INTR, "forward", 1, "abc") +
                                      done(1, NLM_F_DUMP_INTR)};
    return std::vector<std::string>{rule(seq, 0, "forward", 2, "abc") + done(seq)};
  });
  NftNetlink nft(kernel.client(), 1s);
  auto rules = nft.rules_tagged("minictr", "abc", Family::kIp);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].handle, 2u);
  EXPECT_EQ(kernel.requests().size(), 2u);
}

TEST(NetNftDump, DumpInterruptedEveryTimeFailsClearly) {
  FakeKernel kernel([](uint32_t seq, const std::string&) {
    return std::vector<std::string>{rule(seq, NLM_F_DUMP_INTR, "forward", 1, "abc") +
                                    done(seq, NLM_F_DUMP_INTR)};
  });
  NftNetlink nft(kernel.client(), 1s);
  EXPECT_NE(error_text([&] {
              nft.rules_tagged("minictr", "abc", Family::kIp);
            }).find("interrupted the dump 10 times"),
            std::string::npos);
  EXPECT_EQ(kernel.requests().size(), size_t(nl::kDumpTries));
}

TEST(NetNftDump, NoTableIsNoRules) {
  FakeKernel kernel(
      [](uint32_t seq, const std::string&) { return std::vector<std::string>{error_message(seq, -ENOENT)}; });
  NftNetlink nft(kernel.client(), 1s);
  EXPECT_TRUE(nft.rules_tagged("minictr", "abc", Family::kIp).empty());
}

}  // namespace
}  // namespace mctr::net
