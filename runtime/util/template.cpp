// A small interpreter for the Go-template subset described in template.h.
// Two steps: parse() turns the text into a tree of nodes (text, action,
// range, if), exec() walks it with "dot" (the current value) and variables.
#include "util/template.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "util/error.h"

namespace mctr::tmpl {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("template: " + what); }

// ---- parsing ----------------------------------------------------------------

struct Node {
  enum Kind { Text, Action, Range, If } kind = Text;
  std::string text;                         // Text: the bytes; others: the pipeline
  std::vector<std::string> vars;            // Range: "$k", "$v" declared with :=
  std::vector<std::unique_ptr<Node>> body;  // Range / If
  std::vector<std::unique_ptr<Node>> else_body;
};
using Nodes = std::vector<std::unique_ptr<Node>>;

struct Token {
  bool action;
  std::string text;  // an action's inside, trimmed
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\n");
  return s.substr(b, e - b + 1);
}

// Split "a {{x}} b" into text and action tokens; "{{-" / "-}}" trim the
// white space next to them, as in Go.
std::vector<Token> tokenize(const std::string& in) {
  std::vector<Token> out;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t open = in.find("{{", pos);
    if (open == std::string::npos) {
      out.push_back({false, in.substr(pos)});
      break;
    }
    std::string text = in.substr(pos, open - pos);
    size_t close = in.find("}}", open + 2);
    if (close == std::string::npos) fail("unclosed action: " + in.substr(open));
    std::string inner = in.substr(open + 2, close - open - 2);
    if (!inner.empty() && inner[0] == '-') {
      inner.erase(0, 1);
      text.erase(text.find_last_not_of(" \t\n") + 1);
    }
    bool trim_after = !inner.empty() && inner.back() == '-';
    if (trim_after) inner.pop_back();
    if (!text.empty()) out.push_back({false, text});
    out.push_back({true, trim(inner)});
    pos = close + 2;
    if (trim_after)
      while (pos < in.size() && std::isspace(static_cast<unsigned char>(in[pos]))) ++pos;
  }
  return out;
}

bool starts_with_word(const std::string& s, const std::string& word) {
  return s == word || s.rfind(word + " ", 0) == 0;
}

// Parse tokens[i..] until {{end}} / {{else}} (returned in `stop`) or the end.
Nodes parse(const std::vector<Token>& toks, size_t& i, std::string* stop) {
  Nodes nodes;
  while (i < toks.size()) {
    const Token& t = toks[i++];
    auto n = std::make_unique<Node>();
    if (!t.action) {
      n->text = t.text;
      nodes.push_back(std::move(n));
      continue;
    }
    if (t.text == "end" || t.text == "else") {
      if (!stop) fail("unexpected {{" + t.text + "}}");
      *stop = t.text;
      return nodes;
    }
    if (starts_with_word(t.text, "range") || starts_with_word(t.text, "if")) {
      bool range = t.text[0] == 'r';
      n->kind = range ? Node::Range : Node::If;
      std::string rest = trim(t.text.substr(range ? 5 : 2));
      if (size_t decl = rest.find(":="); range && decl != std::string::npos) {
        std::string names = rest.substr(0, decl);
        for (size_t b = 0; b < names.size();) {
          size_t e = names.find(',', b);
          std::string v = trim(names.substr(b, e == std::string::npos ? std::string::npos : e - b));
          if (v.size() < 2 || v[0] != '$') fail("bad range variable: " + v);
          n->vars.push_back(v);
          if (e == std::string::npos) break;
          b = e + 1;
        }
        rest = trim(rest.substr(decl + 2));
      }
      if (rest.empty()) fail("missing value for " + std::string(range ? "range" : "if"));
      n->text = rest;
      std::string s;
      n->body = parse(toks, i, &s);
      if (s == "else") n->else_body = parse(toks, i, &s);
      if (s != "end") fail("unexpected EOF: {{" + std::string(range ? "range" : "if") + "}} without {{end}}");
      nodes.push_back(std::move(n));
      continue;
    }
    n->kind = Node::Action;
    n->text = t.text;
    nodes.push_back(std::move(n));
  }
  if (stop) fail("unexpected EOF: missing {{end}}");
  return nodes;
}

// ---- evaluation ---------------------------------------------------------------

// A value, or "no value" (a field that does not exist).
using Value = std::optional<json>;

struct Scope {
  const json& root;
  std::map<std::string, json> vars;
};

// Go's %v of a decoded JSON value.
std::string print(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::null:
      return "<nil>";
    case json::value_t::object: {
      std::string s = "map[";
      bool first = true;
      for (auto& [k, x] : v.items()) {  // nlohmann keeps object keys sorted, as Go prints them
        if (!first) s += ' ';
        s += k;
        s += ':';
        s += print(x);
        first = false;
      }
      return s + "]";
    }
    case json::value_t::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += ' ';
        s += print(v[i]);
      }
      return s + "]";
    }
    default:
      return v.dump();
  }
}

bool truthy(const Value& v) {
  if (!v || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return v->get<double>() != 0;
  if (v->is_string()) return !v->get_ref<const std::string&>().empty();
  if (v->is_array() || v->is_object()) return !v->empty();
  return true;
}

// ".A.B" applied to `base`.
Value field_path(const json& base, const std::string& path) {
  Value cur = base;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] != '.') fail("bad field: " + path);
    size_t end = path.find('.', pos + 1);
    std::string name = path.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    pos = end == std::string::npos ? path.size() : end;
    if (name.empty()) continue;  // "." alone
    if (!cur || !cur->is_object()) {
      if (cur && !cur->is_null()) fail("can't evaluate field " + name + " in type " + cur->type_name());
      return std::nullopt;
    }
    auto it = cur->find(name);
    if (it == cur->end()) return std::nullopt;
    cur = *it;
  }
  return cur;
}

// Split a command into words; "quoted strings" stay one word (with quotes).
std::vector<std::string> words(const std::string& cmd) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < cmd.size()) {
    if (std::isspace(static_cast<unsigned char>(cmd[i]))) {
      ++i;
      continue;
    }
    size_t start = i;
    if (cmd[i] == '"') {
      for (++i; i < cmd.size() && cmd[i] != '"'; ++i)
        if (cmd[i] == '\\') ++i;
      if (i >= cmd.size()) fail("unterminated quoted string in: " + cmd);
      ++i;
    } else {
      while (i < cmd.size() && !std::isspace(static_cast<unsigned char>(cmd[i]))) ++i;
    }
    out.push_back(cmd.substr(start, i - start));
  }
  return out;
}

Value operand(const std::string& w, const json& dot, const Scope& sc) {
  if (w.front() == '"') {
    try {
      return json::parse(w);  // a Go string literal is close enough to JSON's
    } catch (const json::exception&) {
      fail("bad string literal: " + w);
    }
  }
  if (w.front() == '.') return field_path(dot, w);
  if (w.front() == '$') {
    size_t dot_at = w.find('.');
    std::string name = w.substr(0, dot_at);
    const json* base = &sc.root;
    if (name != "$") {
      auto it = sc.vars.find(name);
      if (it == sc.vars.end()) fail("undefined variable: " + name);
      base = &it->second;
    }
    return dot_at == std::string::npos ? Value(*base) : field_path(*base, w.substr(dot_at));
  }
  if (std::isdigit(static_cast<unsigned char>(w.front())) || w.front() == '-') {
    try {
      return json::parse(w);
    } catch (const json::exception&) {
    }
  }
  if (w == "true" || w == "false") return json(w == "true");
  fail("function \"" + w + "\" not defined");
}

Value call(const std::string& fn, const std::vector<Value>& args, const std::string& cmd) {
  auto need = [&](size_t n) {
    if (args.size() != n)
      fail("wrong number of args for " + fn + ": want " + std::to_string(n) + " in: " + cmd);
  };
  if (fn == "json") {
    need(1);
    return json(args[0] ? args[0]->dump() : "null");
  }
  if (fn == "len") {
    need(1);
    if (!args[0] || !(args[0]->is_array() || args[0]->is_object() || args[0]->is_string()))
      fail("len of a value that has no length in: " + cmd);
    return json(args[0]->is_string() ? args[0]->get<std::string>().size() : args[0]->size());
  }
  if (fn == "lower" || fn == "upper") {
    need(1);
    std::string s = args[0] ? print(*args[0]) : "";
    std::transform(s.begin(), s.end(), s.begin(), [&](unsigned char c) {
      return static_cast<char>(fn == "lower" ? std::tolower(c) : std::toupper(c));
    });
    return json(s);
  }
  if (fn == "join") {
    need(2);
    if (!args[0] || !args[0]->is_array() || !args[1] || !args[1]->is_string())
      fail("join needs a list and a string in: " + cmd);
    std::string s, sep = args[1]->get<std::string>();
    for (size_t i = 0; i < args[0]->size(); ++i) s += (i ? sep : "") + print((*args[0])[i]);
    return json(s);
  }
  if (fn == "index") {
    if (args.size() < 2) fail("index needs a value and a key in: " + cmd);
    Value cur = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      if (!cur || cur->is_null()) return std::nullopt;
      const json& k = *args[i];
      if (cur->is_object() && k.is_string()) {
        auto it = cur->find(k.get<std::string>());
        if (it == cur->end()) return std::nullopt;
        cur = *it;
      } else if (cur->is_array() && k.is_number_integer()) {
        auto n = k.get<long long>();
        if (n < 0 || static_cast<size_t>(n) >= cur->size()) fail("index out of range: " + std::to_string(n));
        cur = (*cur)[static_cast<size_t>(n)];
      } else {
        fail("can't index " + std::string(cur->type_name()) + " with " + k.dump() + " in: " + cmd);
      }
    }
    return cur;
  }
  fail("function \"" + fn + "\" not defined");
}

Value eval(const std::string& cmd, const json& dot, const Scope& sc) {
  auto w = words(cmd);
  if (w.empty()) fail("missing value for command");
  static const char* functions[] = {"json", "len", "lower", "upper", "join", "index"};
  bool is_fn = std::find(std::begin(functions), std::end(functions), w[0]) != std::end(functions);
  if (!is_fn) {
    if (w.size() != 1) fail("can't give argument to non-function " + w[0]);
    return operand(w[0], dot, sc);
  }
  std::vector<Value> args;
  for (size_t i = 1; i < w.size(); ++i) args.push_back(operand(w[i], dot, sc));
  return call(w[0], args, cmd);
}

void exec(const Nodes& nodes, const json& dot, Scope& sc, std::string& out) {
  for (const auto& n : nodes) {
    switch (n->kind) {
      case Node::Text:
        out += n->text;
        break;
      case Node::Action: {
        Value v = eval(n->text, dot, sc);
        out += v ? print(*v) : "<no value>";
        break;
      }
      case Node::If:
        exec(truthy(eval(n->text, dot, sc)) ? n->body : n->else_body, dot, sc, out);
        break;
      case Node::Range: {
        Value v = eval(n->text, dot, sc);
        if (v && !v->is_null() && !v->is_array() && !v->is_object())
          fail("range can't iterate over " + print(*v));
        if (!truthy(v)) {
          exec(n->else_body, dot, sc, out);
          break;
        }
        size_t index = 0;
        for (auto& [k, x] : v->items()) {
          json key = v->is_array() ? json(index++) : json(k);
          if (n->vars.size() == 1) sc.vars[n->vars[0]] = x;
          if (n->vars.size() >= 2) sc.vars[n->vars[0]] = key, sc.vars[n->vars[1]] = x;
          exec(n->body, x, sc, out);
        }
        break;
      }
    }
  }
}

}  // namespace

std::string render(const std::string& text, const json& data) {
  auto toks = tokenize(text);
  size_t i = 0;
  Nodes nodes = parse(toks, i, nullptr);
  Scope sc{data, {}};
  std::string out;
  exec(nodes, data, sc, out);
  return out;
}

}  // namespace mctr::tmpl
