// -e and --env-file, with Docker's checks: a variable needs a name, and an
// env-file name has no whitespace (Docker refuses both; they were dropped).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mctr::container {

// Our own environment, for "-e KEY" (tests pass a fake).
using EnvLookup = std::function<std::optional<std::string>(const std::string& key)>;
std::optional<std::string> host_env(const std::string& key);

// "-e KEY=VALUE" as is; "-e KEY" takes our value, nullopt when we have none
// (Docker drops it too). Throws "invalid environment variable: =x" for an
// empty name.
std::optional<std::string> env_from_flag(const std::string& e, const EnvLookup& lookup = host_env);

// An env file's text: KEY=VALUE or KEY lines, blank lines and '#' comments.
std::vector<std::string> parse_env_file(const std::string& text, const EnvLookup& lookup = host_env);

// Set KEY=VALUE in env, replacing an earlier KEY.
void set_env(std::vector<std::string>& env, const std::string& kv);
// env has an entry KEY=...
bool has_env(const std::vector<std::string>& env, const std::string& key);

}  // namespace mctr::container
