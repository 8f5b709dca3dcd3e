#include "container/env.h"

#include <cstdlib>
#include <sstream>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::container {

std::optional<std::string> host_env(const std::string& key) {
  const char* v = std::getenv(key.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

static std::optional<std::string> with_value(const std::string& e, const EnvLookup& lookup) {
  if (e.find('=') != std::string::npos) return e;
  auto v = lookup(e);
  if (!v) return std::nullopt;
  return e + "=" + *v;
}

std::optional<std::string> env_from_flag(const std::string& e, const EnvLookup& lookup) {
  if (e.empty() || e[0] == '=') throw Error("invalid environment variable: " + e);
  return with_value(e, lookup);
}

std::vector<std::string> parse_env_file(const std::string& text, const EnvLookup& lookup) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = fs::trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::string name = line.substr(0, line.find('='));
    // Docker's messages (opts.ParseEnvFile).
    if (name.empty()) throw Error("poorly formatted environment: no variable name on line '" + line + "'");
    if (name.find_first_of(" \t\v\f\r") != std::string::npos)
      throw Error("poorly formatted environment: variable '" + name + "' contains whitespaces");
    if (auto kv = with_value(line, lookup)) out.push_back(*kv);
  }
  return out;
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('='));
  for (auto& e : env)
    if (e.substr(0, e.find('=')) == key) {
      e = kv;
      return;
    }
  env.push_back(kv);
}

bool has_env(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env)
    if (e.compare(0, key.size() + 1, key + "=") == 0) return true;
  return false;
}

}  // namespace mctr::container
