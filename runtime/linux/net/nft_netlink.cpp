// nf_tables over netlink (the message format is in nlmsg.h). Its messages
// carry `struct nfgenmsg` (the family: NFPROTO_IPV4 for `ip`, NFPROTO_IPV6
// for `ip6`) as fixed header, and their type is
// (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*. Changes go in a batch:
// NFNL_MSG_BATCH_BEGIN, the changes, NFNL_MSG_BATCH_END, sent at once; the
// kernel applies the whole batch or none of it.
#include "linux/net/nft_netlink.h"

#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "linux/net/nlmsg.h"
#include "util/error.h"

namespace mctr::net {

const char* to_string(Family f) { return f == Family::kIp6 ? "ip6" : "ip"; }

namespace {

constexpr uint16_t nft_type(uint16_t msg) { return (NFNL_SUBSYS_NFTABLES << 8) | msg; }

nfgenmsg nfgen(uint8_t family, uint16_t res_id = 0) {
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  g.res_id = htobe16(res_id);  // batch messages: the subsystem they are for
  return g;
}

uint8_t nfproto(Family family) { return family == Family::kIp6 ? NFPROTO_IPV6 : NFPROTO_IPV4; }

// A rule's comment: its user data is a list of {u8 type, u8 len, value}
// records (libnftnl's format, which `nft` writes); type 0 is the comment, a
// NUL-terminated string.
std::string comment_of(const rtattr* udata) {
  if (!udata) return "";
  const auto* p = static_cast<const unsigned char*>(RTA_DATA(udata));
  const size_t size = RTA_PAYLOAD(udata);
  for (size_t pos = 0; pos + 2 <= size;) {
    const size_t type = p[pos], len = p[pos + 1];
    if (pos + 2 + len > size) break;
    const char* value = reinterpret_cast<const char*>(p + pos + 2);
    if (type == 0) return std::string(value, ::strnlen(value, len));
    pos += 2 + len;
  }
  return "";
}

// The answers to a batch numbered begin_seq..end_seq: `acks` ACKs (one per
// message with NLM_F_ACK) once the kernel committed it, or the error that
// aborted it. The error may be for any message of the batch: a batch the
// kernel refuses as a whole (EPERM without CAP_NET_ADMIN, a bad batch
// header) is answered against NFNL_MSG_BATCH_BEGIN, which asked for no ACK.
void read_batch_acks(nl::Socket& sk, const char* call, const std::string& object, uint32_t begin_seq,
                     uint32_t end_seq, size_t acks) {
  size_t acked = 0;
  const std::string what = std::string(call) + " " + object;
  nl::read_answers(sk, what, [&](const nlmsghdr& h) {
    if (h.nlmsg_seq < begin_seq || h.nlmsg_seq > end_seq || h.nlmsg_type != NLMSG_ERROR) return false;
    if (int err = nl::error_of(h); err != 0) {
      if (h.nlmsg_seq == begin_seq) throw SysError("NFNL_MSG_BATCH_BEGIN", what, err);
      if (h.nlmsg_seq == end_seq) throw SysError("NFNL_MSG_BATCH_END", what, err);
      throw SysError(call, object, err);
    }
    return ++acked == acks;
  });
}

}  // namespace

NftNetlink::NftNetlink() : sk_(NETLINK_NETFILTER, "NETLINK_NETFILTER") {}

NftNetlink::NftNetlink(UniqueFd stand_in, std::chrono::milliseconds timeout)
    : sk_(std::move(stand_in), timeout) {}

bool NftNetlink::table_exists(const std::string& table, Family family) {
  nl::Message m(nft_type(NFT_MSG_GETTABLE), NLM_F_ACK, nfgen(nfproto(family)));
  m.put_string(NFTA_TABLE_NAME, table);
  return exists(m, "NFT_MSG_GETTABLE", std::string(to_string(family)) + " " + table);
}

bool NftNetlink::chain_exists(const std::string& table, const std::string& chain, Family family) {
  nl::Message m(nft_type(NFT_MSG_GETCHAIN), NLM_F_ACK, nfgen(nfproto(family)));
  m.put_string(NFTA_CHAIN_TABLE, table);
  m.put_string(NFTA_CHAIN_NAME, chain);
  return exists(m, "NFT_MSG_GETCHAIN", std::string(to_string(family)) + " " + table + " " + chain);
}

bool NftNetlink::exists(nl::Message& m, const std::string& call, const std::string& what) {
  const uint32_t seq = sk_.send(m, call + " " + what);
  // The object (NFT_MSG_NEW*) then the ACK, or an error: ENOENT = no such
  // object (or no such table, for a chain).
  bool found = false;
  nl::read_answers(sk_, call + " " + what, [&](const nlmsghdr& h) {
    if (h.nlmsg_seq != seq) return false;
    if (h.nlmsg_type != NLMSG_ERROR) {
      found = true;
      return false;
    }
    int err = nl::error_of(h);
    if (err == ENOENT)
      found = false;
    else if (err != 0)
      throw SysError(call, what, err);
    return true;
  });
  return found;
}

std::vector<TaggedRule> NftNetlink::rules_tagged(const std::string& table, const std::string& tag,
                                                 Family family) {
  const std::string what = "NFT_MSG_GETRULE " + std::string(to_string(family)) + " " + table;
  nl::Message m(nft_type(NFT_MSG_GETRULE), 0, nfgen(nfproto(family)));
  m.put_string(NFTA_RULE_TABLE, table);  // only this table's rules
  // One NFT_MSG_NEWRULE per rule, then NLMSG_DONE (or ENOENT: no table).
  std::vector<TaggedRule> out;
  int err = nl::dump(
      sk_, m, what, [&] { out.clear(); },
      [&](const nlmsghdr& h) {
        nl::Attrs a(h, sizeof(nfgenmsg));
        if (a.string(NFTA_RULE_TABLE) != table || comment_of(a.get(NFTA_RULE_USERDATA)) != tag) return;
        auto chain = a.string(NFTA_RULE_CHAIN);
        const void* handle = a.bytes(NFTA_RULE_HANDLE, sizeof(uint64_t));
        if (!chain || !handle) return;
        uint64_t be;
        std::memcpy(&be, handle, sizeof be);
        out.push_back({*chain, be64toh(be)});  // the kernel's numbers are big-endian here
      });
  if (err == ENOENT) return {};
  if (err) throw SysError("NFT_MSG_GETRULE", std::string(to_string(family)) + " " + table, err);
  return out;
}

void NftNetlink::delete_rules(const std::string& table, const std::vector<TaggedRule>& rules, Family family) {
  if (rules.empty()) return;
  const std::string what = "NFT_MSG_DELRULE " + std::string(to_string(family)) + " " + table;
  std::vector<char> batch;
  auto add = [&](nl::Message& m) {
    const uint32_t seq = sk_.next_seq();
    const char* bytes = m.finish(seq);
    batch.insert(batch.end(), bytes, bytes + m.size());
    return seq;
  };
  nl::Message begin(NFNL_MSG_BATCH_BEGIN, 0, nfgen(AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  const uint32_t begin_seq = add(begin);
  for (const TaggedRule& r : rules) {
    nl::Message del(nft_type(NFT_MSG_DELRULE), NLM_F_ACK, nfgen(nfproto(family)));
    del.put_string(NFTA_RULE_TABLE, table);
    del.put_string(NFTA_RULE_CHAIN, r.chain);
    const uint64_t be = htobe64(r.handle);
    del.put(NFTA_RULE_HANDLE, &be, sizeof be);
    add(del);
  }
  nl::Message end(NFNL_MSG_BATCH_END, 0, nfgen(AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  const uint32_t end_seq = add(end);
  nl::send(sk_, batch.data(), batch.size(), what);
  read_batch_acks(sk_, "NFT_MSG_DELRULE", std::string(to_string(family)) + " " + table, begin_seq, end_seq,
                  rules.size());
}

}  // namespace mctr::net
