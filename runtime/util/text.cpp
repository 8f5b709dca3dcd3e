#include "util/text.h"

namespace mctr::text {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (!s.empty()) {
    const size_t end = s.find(sep);
    parts.push_back(s.substr(0, end));
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
  return parts;
}

std::vector<std::string_view> fields(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::string_view part : split(s, sep))
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace mctr::text
