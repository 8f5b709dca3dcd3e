#include "util/size.h"

#include <cmath>
#include <string_view>

#include "util/error.h"

namespace mctr {

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

int64_t parse_size(const std::string& s, unsigned unit) {
  const std::string bad = "invalid size: '" + s.substr(0, 64) + "'";
  // ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ ; std::stod alone would also
  // take "nan", "inf", "0x10" and "1e30".
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == 0) throw Error(bad);
  if (i < s.size() && s[i] == '.') {
    size_t frac = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == frac) throw Error(bad);
  }
  long double v = std::stold(s.substr(0, i));
  if (i < s.size() && s[i] == ' ') ++i;
  long double mult = 1;
  if (i < s.size()) {
    std::string_view units = "kmgtp";
    auto u = units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
    if (u != std::string_view::npos) {
      for (size_t k = 0; k <= u; ++k) mult *= unit;
      ++i;
    }
  }
  if (i < s.size() && (s[i] == 'i' || s[i] == 'I')) ++i;
  if (i < s.size() && (s[i] == 'b' || s[i] == 'B')) ++i;
  if (i != s.size()) throw Error(bad);
  long double bytes = v * mult;
  // 2^63 itself does not fit; a cast of a larger double to int64 is undefined
  // (it gave INT64_MIN, then "minimum memory limit allowed is 6MB").
  if (!(bytes < 9223372036854775808.0L)) throw Error(bad + ": too large");
  return static_cast<int64_t>(bytes);
}

int64_t parse_bytes(const std::string& s) { return parse_size(s, 1024); }

}  // namespace mctr
