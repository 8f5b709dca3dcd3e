#include "linux/net/dns_message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace mctr::net::dns {

namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagAuthoritative = 0x0400;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagRecursionAvailable = 0x0080;
constexpr uint16_t kOpcodeMask = 0x7800;

uint16_t read16(const std::vector<uint8_t>& m, size_t at) {
  return static_cast<uint16_t>(m[at] << 8 | m[at + 1]);
}

void put16(std::vector<uint8_t>& m, uint16_t v) {
  m.push_back(static_cast<uint8_t>(v >> 8));
  m.push_back(static_cast<uint8_t>(v & 0xff));
}

void put32(std::vector<uint8_t>& m, uint32_t v) {
  put16(m, static_cast<uint16_t>(v >> 16));
  put16(m, static_cast<uint16_t>(v & 0xffff));
}

void set16(std::vector<uint8_t>& m, size_t at, uint16_t v) {
  m[at] = static_cast<uint8_t>(v >> 8);
  m[at + 1] = static_cast<uint8_t>(v & 0xff);
}

// The address as the record's data: 4 bytes (A) or 16 (AAAA); empty if it
// is not an address of that family.
std::vector<uint8_t> rdata(uint16_t type, const std::string& address) {
  if (type == static_cast<uint16_t>(Type::A)) {
    in_addr a{};
    if (inet_pton(AF_INET, address.c_str(), &a) != 1) return {};
    const auto* b = reinterpret_cast<const uint8_t*>(&a);
    return {b, b + 4};
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, address.c_str(), &a) != 1) return {};
  return {a.s6_addr, a.s6_addr + 16};
}

}  // namespace

std::optional<Question> parse_query(const std::vector<uint8_t>& msg) {
  if (msg.size() < kHeaderSize) return std::nullopt;
  const uint16_t flags = read16(msg, 2);
  if ((flags & kFlagResponse) || (flags & kOpcodeMask)) return std::nullopt;  // a response, or not QUERY
  if (read16(msg, 4) != 1) return std::nullopt;                               // exactly one question
  Question q;
  q.id = read16(msg, 0);
  q.recursion_desired = flags & kFlagRecursionDesired;
  size_t at = kHeaderSize;
  while (true) {
    if (at >= msg.size()) return std::nullopt;
    const uint8_t len = msg[at++];
    if (len == 0) break;
    if (len > 63 || at + len > msg.size()) return std::nullopt;  // 0xC0..: a pointer, not in a query
    if (!q.name.empty()) q.name += '.';
    for (size_t i = 0; i < len; ++i) q.name += static_cast<char>(std::tolower(msg[at + i]));
    at += len;
  }
  if (at + 4 > msg.size()) return std::nullopt;
  q.type = read16(msg, at);
  q.qclass = read16(msg, at + 2);
  q.end = at + 4;
  return q;
}

std::vector<uint8_t> make_response(const std::vector<uint8_t>& query, const Question& q, Rcode rcode,
                                   const std::vector<std::string>& addresses, uint32_t ttl) {
  // Header and question as the client sent them; flags and counts rewritten.
  std::vector<uint8_t> out(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(q.end));
  uint16_t flags =
      kFlagResponse | kFlagAuthoritative | kFlagRecursionAvailable | static_cast<uint16_t>(rcode);
  if (q.recursion_desired) flags |= kFlagRecursionDesired;
  set16(out, 2, flags);
  uint16_t answers = 0;
  for (const auto& a : addresses) {
    std::vector<uint8_t> data = rdata(q.type, a);
    if (data.empty()) continue;        // an IPv6 address asked as A, or the other way round
    put16(out, 0xC000 | kHeaderSize);  // the name: a pointer to the question's
    put16(out, q.type);
    put16(out, q.qclass);
    put32(out, ttl);
    put16(out, static_cast<uint16_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    ++answers;
  }
  set16(out, 6, answers);
  set16(out, 8, 0);   // authority records
  set16(out, 10, 0);  // additional records (a client's EDNS OPT is dropped)
  return out;
}

std::vector<uint8_t> make_error(const std::vector<uint8_t>& query, Rcode rcode) {
  if (query.size() < kHeaderSize) return {};
  std::vector<uint8_t> out(query.begin(), query.begin() + kHeaderSize);
  const uint16_t flags = read16(query, 2);
  set16(out, 2,
        static_cast<uint16_t>(kFlagResponse | (flags & (kOpcodeMask | kFlagRecursionDesired)) |
                              kFlagRecursionAvailable | static_cast<uint16_t>(rcode)));
  for (size_t at : {4, 6, 8, 10}) set16(out, at, 0);
  return out;
}

}  // namespace mctr::net::dns
