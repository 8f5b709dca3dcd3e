#include "image/reference.h"

#include "util/error.h"

namespace mctr::image {

static bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/' ||
         c == ':';
}

bool is_bare_tag(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return true;
}

Reference parse_reference(const std::string& ref) {
  std::string s = ref.substr(0, ref.find('@'));
  Reference r;
  // The tag is after the last ':' that comes after the last '/' (a ':' before
  // a '/' is a registry port: "localhost:5000/app").
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    r.name = s.substr(0, colon);
    r.tag = s.substr(colon + 1);
  } else {
    r.name = s;
    r.tag = "latest";
  }
  for (const char* prefix :
       {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"}) {
    std::string p = prefix;
    if (r.name.compare(0, p.size(), p) == 0 && r.name.size() > p.size()) {
      r.name = r.name.substr(p.size());
      break;
    }
  }
  bool ok = !r.name.empty() && r.name.size() <= 255 && r.name.front() != '/' && r.name.back() != '/' &&
            is_bare_tag(r.tag);
  for (char c : r.name) ok = ok && valid_name_char(c);
  if (!ok) throw Error("invalid reference format: \"" + ref.substr(0, 300) + "\"");
  return r;
}

}  // namespace mctr::image
