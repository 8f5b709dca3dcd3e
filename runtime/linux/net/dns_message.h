// The few parts of a DNS message (RFC 1035) the network's name server needs:
// read the question of a query, and write an answer with A/AAAA records, an
// empty answer, or an error code. Everything else is forwarded untouched.
//
// A message: a 12-byte header (id, flags, four counts), then the question
// (the name as length-prefixed labels "\3web\0", a type, a class), then
// resource records. Answers point back at the question's name with a
// 2-byte "compression pointer" (0xC00C: offset 12) instead of repeating it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mctr::net::dns {

enum class Type : uint16_t { A = 1, AAAA = 28 };
enum class Rcode : uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4 };

struct Question {
  uint16_t id = 0;
  bool recursion_desired = false;
  std::string name;  // lower case, without the trailing dot: "web.example"
  uint16_t type = 0;
  uint16_t qclass = 0;
  size_t end = 0;  // offset just past the question in the message
};

// The question of a standard query with exactly one; nullopt for a response,
// another opcode, a name that runs off the message, or compression in a query.
std::optional<Question> parse_query(const std::vector<uint8_t>& msg);

// The response to `q` (whose message is `query`): the question echoed, one
// record of q's type per address (IPv4 "10.0.0.2" for A, IPv6 for AAAA),
// authoritative, TTL `ttl`. No addresses: an empty answer (NOERROR, "the name
// exists, not with this type") unless rcode says otherwise.
std::vector<uint8_t> make_response(const std::vector<uint8_t>& query, const Question& q, Rcode rcode,
                                   const std::vector<std::string>& addresses, uint32_t ttl = 600);

// An error response when even the question could not be read: the header's
// id and opcode echoed, no question. Empty if the message is too short to answer.
std::vector<uint8_t> make_error(const std::vector<uint8_t>& query, Rcode rcode);

}  // namespace mctr::net::dns
