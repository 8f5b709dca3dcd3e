// Netlink messages built and read by hand: the part rtnetlink (netlink.cpp:
// links, addresses, routes) and nf_tables (nft_netlink.cpp: nftables
// tables and rules) share. A message is
//
//   struct nlmsghdr   length, type, flags, sequence number
//   fixed header      ifinfomsg / ifaddrmsg / rtmsg (rtnetlink), nfgenmsg (nfnetlink)
//   attributes        struct rtattr (= struct nlattr) {length, type} + payload, each
//                     padded to 4 bytes; an attribute may hold more attributes ("nested")
//
// It goes to the kernel with send() on a netlink socket. The kernel answers
// with messages of the same layout, carrying the request's sequence number:
// for a request with NLM_F_ACK, an NLMSG_ERROR message whose error is 0 (the
// ACK) or -errno; for a dump (NLM_F_DUMP), one message per object, several
// per recv(), then NLMSG_DONE.
//
// Nothing here may hang: every socket has a receive deadline, and a request
// whose answer does not come within it fails with a clear error (the callers
// hold the IPAM lock, so a lost answer would stall every other container).
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mctr::net::nl {

// How long the kernel gets to answer one request (it takes well under 1 ms).
constexpr std::chrono::milliseconds kAnswerTimeout{5000};
// rta_len is a uint16: header + payload of one attribute, nested ones included.
constexpr size_t kMaxAttrLen = 0xffff;
// A dump the kernel flags as interrupted (NLM_F_DUMP_INTR) is started again
// this many times at most.
constexpr int kDumpTries = 10;

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
  uint16_t type() const { return reinterpret_cast<const nlmsghdr*>(buf_.data())->nlmsg_type; }

  // One attribute: rtattr + payload. Throws if it would not fit rta_len.
  void put(uint16_t type, const void* data, size_t len) {
    check_attr_len(type, RTA_LENGTH(len));
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
    const size_t len = buf_.size() - start;
    check_attr_len(type, len);
    const auto len16 = static_cast<uint16_t>(len);
    std::memcpy(buf_.data() + start + offsetof(rtattr, rta_len), &len16, sizeof len16);
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
    if (len) buf_.insert(buf_.end(), p, p + len);
    buf_.resize(NLMSG_ALIGN(buf_.size()));  // zero padding to 4 bytes
  }
  // Without this a 65536-byte attribute would be sent as rta_len 0.
  static void check_attr_len(uint16_t type, size_t len);

  std::vector<char> buf_;
};

// The fixed header of a received message, or nullptr if it is too short.
template <typename T>
const T* fixed_header(const nlmsghdr& h) {
  if (h.nlmsg_len < NLMSG_LENGTH(sizeof(T))) return nullptr;
  return static_cast<const T*>(NLMSG_DATA(&h));
}

// The attributes of a message (after its fixed header) or of a nested
// attribute, by type. An attribute shorter than its own header or running
// past the end of the buffer throws Error: what follows it cannot be trusted.
class Attrs {
 public:
  Attrs(const nlmsghdr& h, size_t fixed_size) {
    const size_t start = NLMSG_SPACE(fixed_size);  // header + padded fixed header
    if (h.nlmsg_len >= start) parse(reinterpret_cast<const char*>(&h) + start, h.nlmsg_len - start);
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
  void parse(const void* data, size_t len);

  std::map<uint16_t, const rtattr*> by_type_;
};

// A netlink socket with a receive deadline, and the sequence numbers of its
// requests: the kernel copies a request's number into its answers, so they
// can be told apart from stale ones.
class Socket {
 public:
  // socket(AF_NETLINK, SOCK_RAW, protocol) in the calling thread's netns;
  // `name` ("NETLINK_ROUTE") for errors.
  Socket(int protocol, const char* name, std::chrono::milliseconds timeout = kAnswerTimeout);
  // Any datagram socket standing in for the kernel: the tests use one end
  // of a socketpair(AF_UNIX, SOCK_DGRAM) and play the kernel on the other.
  Socket(UniqueFd fd, std::chrono::milliseconds timeout);

  int fd() const { return fd_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }
  uint32_t next_seq() { return ++seq_; }
  // Stamp the next sequence number on `m` and send it; returns the number.
  uint32_t send(Message& m, const std::string& what);

 private:
  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  uint32_t seq_ = 0;
};

// Send one or more messages (a batch) to the kernel; `what` names them in errors.
void send(const Socket& sk, const char* bytes, size_t len, const std::string& what);

// Hand the kernel's answers to on_message, one message at a time, until it
// returns true. Messages from anything but the kernel are skipped. Throws
// Error "netlink: no answer from the kernel within 5 s to <what>" when
// on_message has not returned true within the socket's timeout.
void read_answers(const Socket& sk, const std::string& what,
                  const std::function<bool(const nlmsghdr&)>& on_message);

// The messages of one received datagram, in order, until on_message returns
// true (then this returns true). A message length shorter than nlmsghdr or
// running past the datagram throws Error naming `what`.
bool for_each_message(const char* buf, size_t len, const std::string& what,
                      const std::function<bool(const nlmsghdr&)>& on_message);

// The errno of an NLMSG_ERROR message: 0 for an ACK.
int error_of(const nlmsghdr& h);

// Send `request` as a dump (NLM_F_DUMP) and hand each answer but NLMSG_DONE
// to on_object. If the kernel flags the dump as interrupted (NLM_F_DUMP_INTR:
// the table changed while it was being walked, so objects may be missing or
// doubled), restart() is called and the dump runs again, kDumpTries times at
// most, then Error. Returns 0, or the errno the kernel ended the dump with
// (NLMSG_ERROR, or a negative status in NLMSG_DONE).
int dump(Socket& sk, Message& request, const std::string& what, const std::function<void()>& restart,
         const std::function<void(const nlmsghdr&)>& on_object);

}  // namespace mctr::net::nl
