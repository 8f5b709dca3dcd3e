// Variables in compose files (${VAR:-default} ...) and the .env file that sets them.
#include <cctype>

#include "compose/model.h"
#include "util/error.h"

namespace mctr::compose {

static bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
static bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The part after the name inside ${...}: "", ":-word", "-word", ":?msg", ...
static std::string expand_braced(const std::string& name, const std::string& rest, const Lookup& lookup,
                                 const std::function<void(const std::string&)>& warn) {
  const std::optional<std::string> v = lookup(name);
  if (rest.empty()) {
    if (!v && warn) warn(name);
    return v.value_or("");
  }
  const bool colon = rest[0] == ':';
  const size_t op_at = colon ? 1 : 0;
  if (op_at >= rest.size()) throw Error("invalid interpolation format for ${" + name + rest + "}");
  const char op = rest[op_at];
  const std::string word = rest.substr(op_at + 1);
  // With ':' an empty value counts as unset, as in the shell.
  const bool set = colon ? (v && !v->empty()) : v.has_value();
  switch (op) {
    case '-':
      return set ? *v : interpolate(word, lookup, warn);
    case '?':
      if (!set)
        throw Error("required variable " + name + " is missing a value" + (word.empty() ? "" : ": " + word));
      return *v;
    case '+':
      return set ? interpolate(word, lookup, warn) : "";
    default:
      throw Error("invalid interpolation format for ${" + name + rest + "}");
  }
}

std::string interpolate(const std::string& text, const Lookup& lookup,
                        const std::function<void(const std::string&)>& warn) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 >= text.size()) {
      out += '$';
      continue;
    }
    const char next = text[i + 1];
    if (next == '$') {  // $$: a literal $ (for the container's shell)
      out += '$';
      ++i;
    } else if (next == '{') {
      // The closing brace of this ${...}, defaults may hold ${...} too.
      size_t depth = 1, j = i + 2;
      for (; j < text.size() && depth; ++j) {
        if (text[j] == '{') ++depth;
        if (text[j] == '}') --depth;
      }
      if (depth) throw Error("invalid interpolation format for \"" + text + "\": no closing }");
      const std::string inner = text.substr(i + 2, j - 1 - (i + 2));
      size_t n = 0;
      while (n < inner.size() && name_char(inner[n])) ++n;
      if (n == 0 || !name_start(inner[0]))
        throw Error("invalid interpolation format for \"" + text + "\": bad variable name in ${" + inner +
                    "}");
      out += expand_braced(inner.substr(0, n), inner.substr(n), lookup, warn);
      i = j - 1;
    } else if (name_start(next)) {
      size_t j = i + 1;
      while (j < text.size() && name_char(text[j])) ++j;
      out += expand_braced(text.substr(i + 1, j - i - 1), "", lookup, warn);
      i = j - 1;
    } else {
      out += '$';  // "$5", "$ ": left as they are
    }
  }
  return out;
}

static std::string unquote_double(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      const char c = v[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_dotenv(const std::string& text, const std::string& file) {
  std::map<std::string, std::string> vars;
  size_t start = 0;
  for (int line_no = 1; start <= text.size(); ++line_no) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first);
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    const size_t eq = line.find('=');
    std::string key = line.substr(0, eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    bool ok = !key.empty() && name_start(key[0]);
    for (char c : key) ok = ok && (name_char(c) || c == '.' || c == '-');
    if (!ok || eq == std::string::npos)
      throw Error(file + ":" + std::to_string(line_no) + ": invalid line \"" + line + "\" (want KEY=VALUE)");
    std::string value = line.substr(eq + 1);
    const size_t v0 = value.find_first_not_of(" \t");
    value = v0 == std::string::npos ? "" : value.substr(v0);
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      size_t close = 1;  // the closing quote: in double quotes, not an escaped one
      while (close < value.size() && value[close] != value[0])
        close += (value[0] == '"' && value[close] == '\\') ? 2 : 1;
      if (close >= value.size()) close = std::string::npos;
      if (close == std::string::npos)
        throw Error(file + ":" + std::to_string(line_no) + ": unterminated quote in \"" + line + "\"");
      const std::string inner = value.substr(1, close - 1);
      value = value[0] == '"' ? unquote_double(inner) : inner;
    } else {
      // An unquoted value ends at " #" (a comment) and loses trailing blanks.
      if (size_t hash = value.find(" #"); hash != std::string::npos) value.resize(hash);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    }
    vars[key] = value;
  }
  return vars;
}

std::string project_name(const std::string& raw, bool normalize) {
  std::string out;
  for (char c : raw) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool allowed =
        std::isdigit(static_cast<unsigned char>(l)) || (l >= 'a' && l <= 'z') || l == '_' || l == '-';
    if (allowed) {
      out += l;
    } else if (!normalize) {
      out.clear();
      break;
    }
  }
  if (normalize)
    while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out[0]))) out.erase(0, 1);
  if (out.empty() || !std::isalnum(static_cast<unsigned char>(out[0])) || (!normalize && out != raw))
    throw Error(
        "invalid project name \"" + raw +
        "\": it must contain only lowercase letters, digits, '-' and '_', and start with a letter or digit");
  return out;
}

}  // namespace mctr::compose
