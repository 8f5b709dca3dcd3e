// Netlink messages built and read by hand: the part rtnetlink (netlink.cpp:
// links, addresses, routes) and nf_tables (nft_netlink.cpp: nftables
// tables and rules) share. A message is
//
//   struct nlmsghdr   length, type, flags, sequence number
//   fixed header      ifinfomsg / ifaddrmsg / rtmsg (rtnetlink), nfgenmsg (nfnetlink)
//   attributes        struct rtattr (= struct nlattr) {length, type} + payload, each
//                     padded to 4 bytes; an attribute may hold more attributes ("nested")
//
// It goes to the kernel with sendto() on a netlink socket. The kernel answers
// with messages of the same layout, carrying the request's sequence number:
// for a request with NLM_F_ACK, an NLMSG_ERROR message whose error is 0 (the
// ACK) or -errno; for a dump (NLM_F_DUMP), one message per object, several
// per recv(), then NLMSG_DONE.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mctr::net::nl {

class Message {
 public:
  // nlmsghdr + the fixed header of this message type.
  template <typename FixedHeader>
  Message(uint16_t type, uint16_t flags, const FixedHeader& fixed) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = NLM_F_REQUEST | flags;
    append(&h, sizeof h);
    append(&fixed, sizeof fixed);
  }

  void add_flags(uint16_t flags) { header().nlmsg_flags |= flags; }

  // One attribute: rtattr + payload.
  void put(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    append(&a, sizeof a);
    append(data, len);
  }
  void put_u32(uint16_t type, uint32_t value) { put(type, &value, sizeof value); }
  void put_string(uint16_t type, const std::string& s) {
    put(type, s.c_str(), s.size() + 1);
  }  // with the NUL

  // An attribute holding whatever fill() adds: its length is known after.
  template <typename F>
  void nested(uint16_t type, F fill) {
    const size_t start = buf_.size();
    put(type, nullptr, 0);
    fill();
    const auto len = static_cast<uint16_t>(buf_.size() - start);
    std::memcpy(buf_.data() + start + offsetof(rtattr, rta_len), &len, sizeof len);
  }

  // A struct inside the payload (the veth peer's own ifinfomsg).
  template <typename T>
  void append_struct(const T& s) {
    append(&s, sizeof s);
  }

  // Stamp the final length and the sequence number; the bytes to send.
  const char* finish(uint32_t seq) {
    header().nlmsg_len = static_cast<uint32_t>(buf_.size());
    header().nlmsg_seq = seq;
    header().nlmsg_pid = 0;  // the kernel fills in our port id
    return buf_.data();
  }
  size_t size() const { return buf_.size(); }

 private:
  nlmsghdr& header() { return *reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void append(const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    buf_.insert(buf_.end(), p, p + len);
    buf_.resize(NLMSG_ALIGN(buf_.size()));  // zero padding to 4 bytes
  }

  std::vector<char> buf_;
};

// The fixed header of a received message, or nullptr if it is too short.
template <typename T>
const T* fixed_header(const nlmsghdr& h) {
  if (h.nlmsg_len < NLMSG_LENGTH(sizeof(T))) return nullptr;
  return static_cast<const T*>(NLMSG_DATA(&h));
}

// The attributes of a message (after its fixed header) or of a nested
// attribute, by type.
class Attrs {
 public:
  Attrs(const nlmsghdr& h, size_t fixed_size) {
    if (h.nlmsg_len >= NLMSG_LENGTH(fixed_size))
      parse(static_cast<const char*>(NLMSG_DATA(&h)) + NLMSG_ALIGN(fixed_size),
            h.nlmsg_len - NLMSG_LENGTH(fixed_size));
  }
  Attrs(const void* data, size_t len) { parse(data, len); }

  const rtattr* get(uint16_t type) const {
    auto it = by_type_.find(type);
    return it == by_type_.end() ? nullptr : it->second;
  }
  // The payload, if the attribute is there with exactly `len` bytes.
  const void* bytes(uint16_t type, size_t len) const {
    const rtattr* a = get(type);
    return a && RTA_PAYLOAD(a) == len ? RTA_DATA(a) : nullptr;
  }
  std::optional<uint32_t> u32(uint16_t type) const {
    const void* p = bytes(type, sizeof(uint32_t));
    if (!p) return std::nullopt;
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  std::optional<std::string> string(uint16_t type) const {
    const rtattr* a = get(type);
    if (!a) return std::nullopt;
    const char* s = static_cast<const char*>(RTA_DATA(a));
    return std::string(s, strnlen(s, RTA_PAYLOAD(a)));
  }

 private:
  void parse(const void* data, size_t len) {
    int left = static_cast<int>(len);
    for (auto* a = static_cast<const rtattr*>(data); RTA_OK(a, left); a = RTA_NEXT(a, left))
      by_type_[a->rta_type & NLA_TYPE_MASK] = a;  // newer kernels flag nested ones with NLA_F_NESTED
  }

  std::map<uint16_t, const rtattr*> by_type_;
};

// Send one or more messages (a batch) to the kernel; `what` names them in errors.
void send(int fd, const char* bytes, size_t len, const std::string& what);

// Hand the kernel's answers to on_message, one message at a time, until it
// returns true. Messages from anything but the kernel are skipped.
void read_answers(int fd, const std::string& what, const std::function<bool(const nlmsghdr&)>& on_message);

// The errno of an NLMSG_ERROR message: 0 for an ACK.
int error_of(const nlmsghdr& h);

}  // namespace mctr::net::nl
