#include "image/reference.h"

#include <cctype>
#include <string_view>

#include "util/error.h"

namespace mctr::image {

// Docker's reference grammar (distribution/reference):
//   name      := [domain '/'] component ['/' component]*
//   component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := '.' | '_' | '__' | '-'+
//   domain    := host [':' port]   host := label ('.' label)* | '[' ipv6 ']'
//   tag       := [\w][\w.-]{0,127}                 digest := algorithm ':' hex
static bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool valid_component(std::string_view p) {
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < p.size() && lower_alnum(p[i])) ++i;
    if (i == start) return false;  // empty, or a separator at either end or doubled
    if (i == p.size()) return true;
    if (p[i] == '.') {
      ++i;
    } else if (p[i] == '_') {
      i += (i + 1 < p.size() && p[i + 1] == '_') ? 2 : 1;
    } else if (p[i] == '-') {
      while (i < p.size() && p[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

static bool valid_domain(std::string_view d) {
  std::string_view host = d;
  if (auto colon = d.rfind(':'); colon != std::string_view::npos && d.back() != ']') {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    host = d.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2).find_first_not_of("0123456789abcdefABCDEF:") ==
           std::string_view::npos;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

static bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  std::string_view rest = name;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (!valid_component(first) && !valid_domain(first)) return false;
    rest = rest.substr(slash + 1);
  }
  while (true) {
    size_t slash = rest.find('/');
    if (!valid_component(rest.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    rest = rest.substr(slash + 1);
  }
}

static bool valid_digest(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0 || d.size() - colon - 1 < 32) return false;
  for (char c : d.substr(0, colon))
    if (!lower_alnum(c) && c != '+' && c != '.' && c != '_' && c != '-') return false;
  for (char c : d.substr(colon + 1))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '=' && c != '_' && c != '-') return false;
  return true;
}

static bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_bare_tag(const std::string& s) {
  if (s.empty() || s.size() > 128 || !word_char(s[0])) return false;
  for (char c : s)
    if (!word_char(c) && c != '.' && c != '-') return false;
  return true;
}

Reference parse_reference(const std::string& ref) {
  const Error bad("invalid reference format: \"" + ref.substr(0, 300) + "\"");
  size_t at = ref.find('@');
  if (at != std::string::npos && !valid_digest(std::string_view(ref).substr(at + 1))) throw bad;
  std::string s = ref.substr(0, at);
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
  if (!valid_name(r.name) || !is_bare_tag(r.tag)) throw bad;
  for (const char* prefix :
       {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"}) {
    std::string p = prefix;
    if (r.name.compare(0, p.size(), p) == 0 && r.name.size() > p.size()) {
      r.name = r.name.substr(p.size());
      break;
    }
  }
  return r;
}

RemoteReference parse_remote_reference(const std::string& ref) {
  parse_reference(ref);  // the grammar: throws "invalid reference format"
  RemoteReference r;
  size_t at = ref.find('@');
  std::string s = ref.substr(0, at);
  if (at != std::string::npos) {
    r.digest = ref.substr(at + 1);
    if (!r.digest.starts_with("sha256:") || r.digest.size() != 71 ||
        r.digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
      throw Error("invalid reference format: only sha256 digests are supported: \"" + ref.substr(0, 300) +
                  "\"");
  }
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  std::string name = s;
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    name = s.substr(0, colon);
    r.tag = s.substr(colon + 1);
  } else if (r.digest.empty()) {
    r.tag = "latest";
  }
  size_t first = name.find('/');
  std::string head = name.substr(0, first);
  if (first != std::string::npos &&
      (head.find('.') != std::string::npos || head.find(':') != std::string::npos || head == "localhost")) {
    r.registry = head;
    r.repository = name.substr(first + 1);
  } else {
    r.registry = "docker.io";
    r.repository = name;
  }
  // "UPPER/app" passes the grammar ("UPPER" could be a host), but without a
  // '.', ':' or "localhost" it is a path component, and those are lower case.
  if (r.repository.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
    throw Error("invalid reference format: repository name must be lowercase: \"" + ref.substr(0, 300) +
                "\"");
  if (r.registry == "index.docker.io") r.registry = "docker.io";
  if (r.registry == "docker.io" && r.repository.find('/') == std::string::npos)
    r.repository = "library/" + r.repository;
  return r;
}

std::string RemoteReference::store_tag() const {
  if (tag.empty()) return "";
  // As `docker images` shows them: Docker Hub's "library/" and domain dropped.
  std::string name = registry != "docker.io"              ? registry + "/" + repository
                     : repository.starts_with("library/") ? repository.substr(8)
                                                          : repository;
  return parse_reference(name + ":" + tag).str();
}

}  // namespace mctr::image
