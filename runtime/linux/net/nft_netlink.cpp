// nf_tables over netlink. A message is
//
//   struct nlmsghdr   length, type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*, flags, seq
//   struct nfgenmsg   the family (NFPROTO_IPV4 for `ip`, NFPROTO_IPV6 for `ip6`)
//   attributes        struct nlattr {length, type} + payload, padded to 4 bytes
//
// Changes go in a batch: NFNL_MSG_BATCH_BEGIN, the changes, NFNL_MSG_BATCH_END,
// sent at once; the kernel applies the whole batch or none of it.
#include "linux/net/nft_netlink.h"

#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "util/error.h"

namespace mctr::net {

namespace {

uint8_t nfproto(const std::string& family) { return family == "ip6" ? NFPROTO_IPV6 : NFPROTO_IPV4; }

// Appends messages to one buffer (a batch is several messages in one send).
class Messages {
 public:
  void begin(uint16_t type, uint16_t flags, uint8_t family, uint32_t seq, uint16_t res_id = 0) {
    start_ = buf_.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = NLM_F_REQUEST | flags;
    h.nlmsg_seq = seq;
    append(&h, sizeof h);
    nfgenmsg g{};
    g.nfgen_family = family;
    g.version = NFNETLINK_V0;
    g.res_id = htobe16(res_id);
    append(&g, sizeof g);
  }
  void put(uint16_t type, const void* data, size_t len) {
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    append(&a, sizeof a);
    append(data, len);
  }
  void put_string(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
  void put_be64(uint16_t type, uint64_t v) {
    uint64_t be = htobe64(v);
    put(type, &be, sizeof be);
  }
  // Stamp the length of the message begun last.
  void end() {
    auto len = static_cast<uint32_t>(buf_.size() - start_);
    std::memcpy(buf_.data() + start_ + offsetof(nlmsghdr, nlmsg_len), &len, sizeof len);
  }
  const std::vector<char>& bytes() const { return buf_; }

 private:
  void append(const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    buf_.insert(buf_.end(), p, p + len);
    buf_.resize(NLMSG_ALIGN(buf_.size()));
  }
  std::vector<char> buf_;
  size_t start_ = 0;
};

// The attributes of a received nf_tables message, by type.
struct Attr {
  const char* data = nullptr;
  size_t len = 0;
};
std::vector<Attr> attrs_of(const nlmsghdr& h) {
  std::vector<Attr> out(NFTA_RULE_MAX + 1);
  size_t off = NLMSG_LENGTH(sizeof(nfgenmsg));
  const char* base = reinterpret_cast<const char*>(&h);
  while (off + NLA_HDRLEN <= h.nlmsg_len) {
    nlattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.nla_len < NLA_HDRLEN || off + a.nla_len > h.nlmsg_len) break;
    uint16_t type = a.nla_type & NLA_TYPE_MASK;
    if (type < out.size()) out[type] = {base + off + NLA_HDRLEN, static_cast<size_t>(a.nla_len) - NLA_HDRLEN};
    off += NLA_ALIGN(a.nla_len);
  }
  return out;
}

// A rule's comment: its user data is a list of {u8 type, u8 len, value}
// records (libnftnl's format); type 0 is the comment, a NUL-terminated string.
std::string comment_of(const Attr& udata) {
  const auto* p = reinterpret_cast<const unsigned char*>(udata.data);
  size_t pos = 0;
  while (p && pos + 2 <= udata.len) {
    unsigned type = p[pos], len = p[pos + 1];
    if (pos + 2 + len > udata.len) break;
    if (type == 0)
      return std::string(reinterpret_cast<const char*>(p + pos + 2), ::strnlen(udata.data + pos + 2, len));
    pos += 2 + len;
  }
  return "";
}

}  // namespace

NftNetlink::NftNetlink()
    : sk_(check_sys(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), "socket",
                    "NETLINK_NETFILTER")) {}

namespace {

void send_all(int sk, const std::vector<char>& bytes, const std::string& what) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  while (::sendto(sk, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    if (errno != EINTR) throw_sys("sendto", what);
}

// Read answers to requests numbered >= first_seq, one message at a time,
// until on_message returns false. An NLMSG_ERROR is passed on too.
void read_answers(int sk, uint32_t first_seq, const std::string& what,
                  const std::function<bool(const nlmsghdr&)>& on_message) {
  alignas(nlmsghdr) char buf[32768];
  for (;;) {
    ssize_t n = ::recv(sk, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("recv", what);
    auto len = static_cast<unsigned>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq < first_seq) continue;  // a late answer to an earlier request
      if (!on_message(*h)) return;
    }
  }
}

int error_of(const nlmsghdr& h) { return -static_cast<const nlmsgerr*>(NLMSG_DATA(&h))->error; }

}  // namespace

bool NftNetlink::table_exists(const std::string& table, const std::string& family) {
  const std::string what = "NFT_MSG_GETTABLE " + family + " " + table;
  const uint32_t seq = ++seq_;
  Messages m;
  m.begin((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_ACK, nfproto(family), seq);
  m.put_string(NFTA_TABLE_NAME, table);
  m.end();
  send_all(sk_.get(), m.bytes(), what);
  // The table (NFT_MSG_NEWTABLE) then the ACK, or an error: ENOENT = no table.
  bool exists = false;
  read_answers(sk_.get(), seq, what, [&](const nlmsghdr& h) {
    if (h.nlmsg_type != NLMSG_ERROR) {
      exists = true;
      return true;
    }
    int err = error_of(h);
    if (err == ENOENT)
      exists = false;
    else if (err != 0)
      throw SysError("NFT_MSG_GETTABLE", family + " " + table, err);
    return false;
  });
  return exists;
}

std::vector<TaggedRule> NftNetlink::rules_tagged(const std::string& table, const std::string& tag,
                                                 const std::string& family) {
  const std::string what = "NFT_MSG_GETRULE " + family + " " + table;
  const uint32_t seq = ++seq_;
  Messages m;
  m.begin((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_DUMP, nfproto(family), seq);
  m.put_string(NFTA_RULE_TABLE, table);  // only this table's rules
  m.end();
  send_all(sk_.get(), m.bytes(), what);
  // One NFT_MSG_NEWRULE per rule, then NLMSG_DONE (or an error: ENOENT = no table).
  std::vector<TaggedRule> out;
  read_answers(sk_.get(), seq, what, [&](const nlmsghdr& h) {
    if (h.nlmsg_type == NLMSG_DONE) return false;
    if (h.nlmsg_type == NLMSG_ERROR) {
      int err = error_of(h);
      if (err == 0 || err == ENOENT) return false;
      throw SysError("NFT_MSG_GETRULE", family + " " + table, err);
    }
    auto a = attrs_of(h);
    const Attr& t = a[NFTA_RULE_TABLE];
    if (!t.data || std::string(t.data, ::strnlen(t.data, t.len)) != table) return true;
    if (comment_of(a[NFTA_RULE_USERDATA]) != tag) return true;
    const Attr &chain = a[NFTA_RULE_CHAIN], &handle = a[NFTA_RULE_HANDLE];
    if (!chain.data || handle.len != sizeof(uint64_t)) return true;
    uint64_t be;
    std::memcpy(&be, handle.data, sizeof be);
    out.push_back({std::string(chain.data, ::strnlen(chain.data, chain.len)), be64toh(be)});
    return true;
  });
  return out;
}

void NftNetlink::delete_rules(const std::string& table, const std::vector<TaggedRule>& rules,
                              const std::string& family) {
  if (rules.empty()) return;
  const std::string what = "NFT_MSG_DELRULE " + family + " " + table;
  Messages m;
  const uint32_t first = ++seq_;
  m.begin(NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, first, NFNL_SUBSYS_NFTABLES);
  m.end();
  for (const TaggedRule& r : rules) {
    m.begin((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE, NLM_F_ACK, nfproto(family), ++seq_);
    m.put_string(NFTA_RULE_TABLE, table);
    m.put_string(NFTA_RULE_CHAIN, r.chain);
    m.put_be64(NFTA_RULE_HANDLE, r.handle);
    m.end();
  }
  m.begin(NFNL_MSG_BATCH_END, 0, AF_UNSPEC, ++seq_, NFNL_SUBSYS_NFTABLES);
  m.end();
  send_all(sk_.get(), m.bytes(), what);
  // One ACK per deletion once the batch is committed, or the error that
  // aborted it.
  size_t acked = 0;
  read_answers(sk_.get(), first, what, [&](const nlmsghdr& h) {
    if (h.nlmsg_type != NLMSG_ERROR) return true;
    if (int err = error_of(h); err != 0) throw SysError("NFT_MSG_DELRULE", family + " " + table, err);
    return ++acked < rules.size();
  });
}

}  // namespace mctr::net
