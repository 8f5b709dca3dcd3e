#include "util/command_line.h"

#include <algorithm>

namespace mctr {

namespace {

// What CLI11 (2.x, Option::_add_result) makes of one argument for a list
// option: "[a,b]" -> a, b (empty parts dropped); anything else unchanged.
std::vector<std::string> as_cli11_reads_it(const std::string& arg) {
  if (arg.size() < 2 || arg.front() != '[' || arg.back() != ']') return {arg};
  std::vector<std::string> parts;
  std::string inner = arg.substr(1, arg.size() - 2);
  size_t start = 0;
  for (;;) {
    size_t comma = inner.find(',', start);
    std::string part = inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

}  // namespace

std::vector<std::string> command_as_typed(const std::vector<std::string>& parsed,
                                          const std::vector<std::string>& argv) {
  std::vector<std::string> typed;  // reversed
  size_t left = parsed.size();
  // Walk both from the end: each argument accounts for the values it became.
  for (size_t i = argv.size(); left > 0 && i-- > 1;) {
    std::vector<std::string> values = as_cli11_reads_it(argv[i]);
    if (values.size() > left ||
        !std::equal(values.begin(), values.end(), parsed.begin() + (left - values.size())))
      return parsed;
    left -= values.size();
    typed.push_back(argv[i]);
  }
  if (left > 0) return parsed;
  std::reverse(typed.begin(), typed.end());
  return typed;
}

}  // namespace mctr
