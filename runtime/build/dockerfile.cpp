#include "build/dockerfile.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"

namespace mctr::build {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

[[noreturn]] void fail_line(const std::string& file, int line, const std::string& msg) {
  throw Error(file + ":" + std::to_string(line) + ": " + msg);
}

// The options each instruction takes; RUN's other BuildKit options are refused by name.
const std::map<std::string, std::set<std::string>>& known_flags() {
  static const std::map<std::string, std::set<std::string>> flags = {
      {"FROM", {"platform"}},
      {"COPY", {"from", "chown", "link"}},
      {"ADD", {"chown", "link"}},
      {"RUN", {"network"}},
      {"HEALTHCHECK", {"interval", "timeout", "start-period", "start-interval", "retries"}},
  };
  return flags;
}

const std::set<std::string>& keywords() {
  static const std::set<std::string> k = {
      "FROM", "RUN",    "CMD",   "ENTRYPOINT", "COPY",  "ADD",        "ENV",         "ARG",        "WORKDIR",
      "USER", "EXPOSE", "LABEL", "VOLUME",     "SHELL", "STOPSIGNAL", "HEALTHCHECK", "MAINTAINER", "ONBUILD"};
  return k;
}

bool takes_json_form(const std::string& kw) {
  return kw == "RUN" || kw == "CMD" || kw == "ENTRYPOINT" || kw == "SHELL" || kw == "COPY" || kw == "ADD" ||
         kw == "VOLUME";
}

// A JSON array of strings, or nullopt (then it is shell form, as in Docker).
std::optional<std::vector<std::string>> json_array(const std::string& text) {
  if (text.empty() || text[0] != '[') return std::nullopt;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& v : j) {
      if (!v.is_string()) return std::nullopt;
      out.push_back(v.get<std::string>());
    }
    return out;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// Split leading "--name=value" / "--name" words off the arguments.
std::string take_flags(const std::string& file, Instruction& in) {
  std::string rest = in.text;
  auto allowed = known_flags().find(in.keyword);
  if (allowed == known_flags().end()) return rest;
  for (;;) {
    rest = trim(rest);
    if (!rest.starts_with("--")) return rest;
    size_t end = 0;
    while (end < rest.size() && !is_space(rest[end])) ++end;
    std::string word = rest.substr(2, end - 2);
    rest = rest.substr(end);
    size_t eq = word.find('=');
    std::string name = word.substr(0, eq), value = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (in.keyword == "RUN" && (name == "mount" || name == "security"))
      fail_line(file, in.line, "RUN: --" + name + " is a BuildKit option minictr does not support");
    if (!allowed->second.count(name)) fail_line(file, in.line, in.keyword + ": unknown flag: --" + name);
    if (eq == std::string::npos && name != "link")
      fail_line(file, in.line, in.keyword + ": --" + name + " needs a value (--" + name + "=VALUE)");
    // BuildKit's three: the bridge (default), none (no network: nothing is made
    // on the host for the step), or the host's.
    if (in.keyword == "RUN" && name == "network" && value != "default" && value != "none" && value != "host")
      fail_line(file, in.line, "RUN: --network=" + value + ": expected default, none or host");
    in.flags[name] = value;
  }
}

size_t count_words(const std::string& s) {
  size_t n = 0;
  bool in_word = false;
  for (char c : s) {
    if (is_space(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++n;
    }
  }
  return n;
}

std::vector<std::string> split_space(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (is_space(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool valid_stage_name(const std::string& n) {
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Checks that need no variable values.
void check_arguments(const std::string& file, Instruction& in) {
  const std::string& kw = in.keyword;
  auto fail = [&](const std::string& m) { fail_at(file, in, m); };
  size_t words = count_words(in.args);
  if (kw == "ONBUILD") fail("ONBUILD is not supported by minictr");
  if (kw == "SHELL" && !in.json_form) fail("SHELL requires the arguments to be in JSON form");
  if (kw == "SHELL" && in.json.empty()) fail("SHELL requires at least one argument");
  if ((kw == "RUN" || kw == "ENV" || kw == "LABEL" || kw == "ARG" || kw == "EXPOSE" || kw == "VOLUME" ||
       kw == "MAINTAINER") &&
      !in.json_form && words == 0)
    fail(kw + " requires at least one argument");
  if (kw == "RUN" && in.json_form && in.json.empty()) fail("RUN requires at least one argument");
  if ((kw == "COPY" || kw == "ADD") && (in.json_form ? in.json.size() : words) < 2)
    fail(kw + " requires at least two arguments, but only " +
         std::to_string(in.json_form ? in.json.size() : words) +
         " was provided. Destination could not be determined");
  if ((kw == "WORKDIR" || kw == "USER" || kw == "STOPSIGNAL") && words != 1)
    fail(kw + " requires exactly one argument");
  if (kw == "ENV" && words == 1 && in.args.find('=') == std::string::npos)
    fail("ENV must have two arguments");
  if (kw == "HEALTHCHECK") {
    std::vector<std::string> w = split_space(in.args);
    if (w.empty()) fail("HEALTHCHECK requires an argument (NONE or CMD ...)");
    std::string first = upper(w[0]);
    if (first == "NONE" && (w.size() > 1 || !in.flags.empty()))
      fail("HEALTHCHECK NONE takes no other argument");
    if (first != "NONE" && first != "CMD") fail("HEALTHCHECK: unknown type \"" + w[0] + "\" (NONE or CMD)");
    if (first == "CMD" && w.size() == 1) fail("HEALTHCHECK CMD requires a command");
  }
}

struct Line {
  std::string text;
  int number;
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> out;
  int n = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back({std::string(text.substr(start, end - start)), n++});
    if (end == text.size()) break;
    start = end + 1;
  }
  return out;
}

// "# key=value" at the top of the file; returns false at the first other line.
bool read_directive(const std::string& line, Dockerfile& df, std::set<std::string>& seen, int number) {
  std::string t = trim(line);
  if (!t.starts_with("#")) return false;
  std::string body = trim(t.substr(1));
  size_t eq = body.find('=');
  if (eq == std::string::npos) return false;
  std::string key = lower(trim(body.substr(0, eq))), value = trim(body.substr(eq + 1));
  if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) { return std::isalpha(c); }))
    return false;
  if (key != "escape" && key != "syntax" && key != "check") return false;
  if (!seen.insert(key).second)
    fail_line(df.filename, number, "only one " + key + " parser directive can be used");
  if (key == "escape") {
    if (value != "\\" && value != "`")
      fail_line(df.filename, number, "invalid escape token '" + value + "' does not match ` or \\");
    df.escape = value[0];
  }
  return true;  // syntax= (a frontend image) and check= are ignored
}

// Lines -> logical instructions (continuations joined, comments dropped).
std::vector<Instruction> read_instructions(const std::vector<Line>& lines, Dockerfile& df) {
  std::vector<Instruction> out;
  std::set<std::string> seen;
  bool directives = true;
  std::string pending;
  int pending_line = 0;
  for (const auto& l : lines) {
    if (directives && read_directive(l.text, df, seen, l.number)) continue;
    directives = false;
    std::string t = trim(l.text);
    if (t.starts_with("#")) continue;            // a comment, also inside a continuation
    if (t.empty() && pending.empty()) continue;  // blank line
    if (t.empty()) continue;                     // blank line inside a continuation
    if (pending.empty()) pending_line = l.number;
    if (t.back() == df.escape) {
      std::string part = l.text;
      while (!part.empty() && is_space(part.back())) part.pop_back();
      part.pop_back();
      if (pending.empty()) part.erase(0, part.find_first_not_of(" \t"));
      pending += part;
      continue;
    }
    pending += pending.empty() ? t : l.text;
    Instruction in;
    in.line = pending_line;
    std::string full = trim(pending);
    pending.clear();
    size_t sp = 0;
    while (sp < full.size() && !is_space(full[sp])) ++sp;
    in.keyword = upper(full.substr(0, sp));
    in.text = trim(full.substr(sp));
    out.push_back(std::move(in));
  }
  if (!pending.empty()) {
    Instruction in;
    in.line = pending_line;
    std::string full = trim(pending);
    size_t sp = 0;
    while (sp < full.size() && !is_space(full[sp])) ++sp;
    in.keyword = upper(full.substr(0, sp));
    in.text = trim(full.substr(sp));
    out.push_back(std::move(in));
  }
  return out;
}

void start_stage(const std::string& file, Instruction& in, Dockerfile& df) {
  in.args = take_flags(file, in);
  std::vector<std::string> w = split_space(in.args);
  if (w.size() != 1 && !(w.size() == 3 && upper(w[1]) == "AS"))
    fail_at(file, in, "FROM requires either one or three arguments (FROM IMAGE [AS NAME])");
  Stage st;
  st.base = w[0];
  st.line = in.line;
  st.index = static_cast<int>(df.stages.size());
  st.from_flags = in.flags;
  if (w.size() == 3) {
    st.name = lower(w[2]);
    if (!valid_stage_name(st.name)) fail_at(file, in, "invalid name for build stage: \"" + w[2] + "\"");
    for (const auto& s : df.stages)
      if (s.name == st.name) fail_at(file, in, "duplicate name for build stage: \"" + w[2] + "\"");
  }
  df.stages.push_back(std::move(st));
}

// ------------------------------------------------------------ expansion --

class Expander {
 public:
  Expander(const std::string& s, char esc, const Lookup& vars) : s_(s), esc_(esc), vars_(vars) {}

  std::vector<std::string> run(bool split) {
    std::vector<std::string> words;
    std::string cur;
    bool quoted = false;  // "" is a word too
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (split && is_space(c)) {
        if (!cur.empty() || quoted) words.push_back(cur);
        cur.clear();
        quoted = false;
        ++i_;
      } else if (c == esc_) {
        if (i_ + 1 < s_.size()) cur += s_[i_ + 1];
        i_ += 2;
      } else if (c == '\'') {
        quoted = true;
        size_t end = s_.find('\'', i_ + 1);
        if (end == std::string::npos)
          throw Error("unexpected end of statement while looking for matching single-quote");
        cur += s_.substr(i_ + 1, end - i_ - 1);
        i_ = end + 1;
      } else if (c == '"') {
        quoted = true;
        cur += double_quoted();
      } else if (c == '$') {
        cur += variable();
      } else {
        cur += c;
        ++i_;
      }
    }
    if (!cur.empty() || quoted || !split) words.push_back(cur);
    return words;
  }

 private:
  std::string double_quoted() {
    std::string out;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_];
      if (c == esc_ && i_ + 1 < s_.size() && (s_[i_ + 1] == '"' || s_[i_ + 1] == esc_ || s_[i_ + 1] == '$')) {
        out += s_[i_ + 1];
        i_ += 2;
      } else if (c == '$') {
        out += variable();
      } else {
        out += c;
        ++i_;
      }
    }
    if (i_ >= s_.size()) throw Error("unexpected end of statement while looking for matching double-quote");
    ++i_;
    return out;
  }

  static bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  // At '$': $NAME, ${NAME}, ${NAME:-w}, ${NAME-w}, ${NAME:+w}, ${NAME+w}.
  std::string variable() {
    ++i_;
    if (i_ < s_.size() && s_[i_] == '{') {
      ++i_;
      size_t start = i_;
      while (i_ < s_.size() && name_char(s_[i_])) ++i_;
      std::string name = s_.substr(start, i_ - start);
      if (name.empty()) throw Error("bad substitution: missing variable name after ${");
      if (i_ >= s_.size()) throw Error("missing '}' in ${" + name);
      if (s_[i_] == '}') {
        ++i_;
        return vars_(name).value_or("");
      }
      std::string op;
      if (s_[i_] == ':') op += s_[i_++];
      if (i_ >= s_.size() || (s_[i_] != '-' && s_[i_] != '+'))
        throw Error("unsupported modifier in ${" + name + "} (only :- - :+ + are)");
      op += s_[i_++];
      // The word runs to the matching '}' (it may hold ${...} itself).
      size_t wstart = i_;
      int depth = 1;
      while (i_ < s_.size()) {
        if (s_[i_] == esc_) {
          i_ += 2;
          continue;
        }
        if (s_[i_] == '{') ++depth;
        if (s_[i_] == '}' && --depth == 0) break;
        ++i_;
      }
      if (i_ >= s_.size()) throw Error("missing '}' in ${" + name);
      std::string word = s_.substr(wstart, i_ - wstart);
      ++i_;
      std::optional<std::string> v = vars_(name);
      bool set = v.has_value() && (op.size() == 1 || !v->empty());
      bool use_word = op.back() == '-' ? !set : set;
      if (!use_word) return op.back() == '-' ? *v : "";
      return Expander(word, esc_, vars_).run(false).front();
    }
    size_t start = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    if (i_ == start) return "$";
    return vars_(s_.substr(start, i_ - start)).value_or("");
  }

  const std::string& s_;
  char esc_;
  const Lookup& vars_;
  size_t i_ = 0;
};

}  // namespace

std::string Instruction::display() const { return text.empty() ? keyword : keyword + " " + text; }

const Stage* Dockerfile::find_stage(const std::string& name) const {
  std::string n = lower(name);
  for (const auto& s : stages)
    if (!s.name.empty() && s.name == n) return &s;
  if (!n.empty() && std::all_of(n.begin(), n.end(), [](char c) { return std::isdigit(c); })) {
    size_t i = std::stoul(n);
    if (i < stages.size()) return &stages[i];
  }
  return nullptr;
}

void fail_at(const std::string& filename, const Instruction& in, const std::string& message) {
  fail_line(filename, in.line, in.keyword + ": " + message);
}

Dockerfile parse_dockerfile(std::string_view text, const std::string& filename) {
  Dockerfile df;
  df.filename = filename;
  std::vector<Instruction> all = read_instructions(split_lines(text), df);
  for (auto& in : all) {
    if (!keywords().count(in.keyword)) fail_line(filename, in.line, "unknown instruction: " + in.keyword);
    if (in.keyword == "FROM") {
      start_stage(filename, in, df);
      continue;
    }
    in.args = take_flags(filename, in);
    if (takes_json_form(in.keyword)) {
      if (auto j = json_array(in.args)) {
        in.json_form = true;
        in.json = *j;
      }
    }
    check_arguments(filename, in);
    if (df.stages.empty()) {
      if (in.keyword != "ARG")
        fail_line(filename, in.line,
                  in.keyword + ": no build stage in current context (FROM must come first)");
      df.global_args.push_back(std::move(in));
    } else {
      df.stages.back().instructions.push_back(std::move(in));
    }
  }
  if (df.stages.empty()) throw Error(filename + ": the Dockerfile has no FROM instruction");
  return df;
}

std::vector<std::string> expand_words(const std::string& text, char escape, const Lookup& vars) {
  return Expander(text, escape, vars).run(true);
}

std::string expand_word(const std::string& text, char escape, const Lookup& vars) {
  return Expander(text, escape, vars).run(false).front();
}

std::vector<std::pair<std::string, std::string>> parse_pairs(const Instruction& in, char escape,
                                                             const Lookup& vars) {
  std::vector<std::pair<std::string, std::string>> out;
  // The arguments after the flags (ENV and LABEL take none).
  const std::string& args = in.args;
  size_t sp = 0;
  while (sp < args.size() && !is_space(args[sp])) ++sp;
  std::string first = args.substr(0, sp);
  if (first.find('=') == std::string::npos) {
    // Legacy "ENV KEY the rest of the line".
    std::string value = trim(args.substr(sp));
    if (value.empty() && in.keyword != "ARG") throw Error(in.keyword + " " + first + ": missing value");
    out.emplace_back(expand_word(first, escape, vars), expand_word(value, escape, vars));
    return out;
  }
  for (const auto& w : expand_words(args, escape, vars)) {
    size_t eq = w.find('=');
    if (eq == std::string::npos)
      throw Error("Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
    if (eq == 0) throw Error(in.keyword + " names can not be blank");
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

}  // namespace mctr::build
