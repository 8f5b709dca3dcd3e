// The OCI image config a build edits step by step: the runtime part
// ("config": Env, Cmd, ...), rootfs.diff_ids and the history. Held as JSON
// (nlohmann's objects keep keys sorted, so dump() is canonical: the same
// config always has the same bytes, hence the same image ID).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mctr::build {

using json = nlohmann::json;

// "1970-01-01T00:00:00Z" for 0.
std::string rfc3339(int64_t epoch);

// A config with no layers (FROM scratch).
json scratch_config();
// Keep only what an image config holds, from a stored image's config.
json base_config(const std::string& stored_json);

std::vector<std::string> diff_ids(const json& cfg);
void add_layer(json& cfg, const std::string& diff_id);
// One history entry per instruction; `empty_layer` for those without a layer.
void add_history(json& cfg, const std::string& created_by, bool empty_layer, int64_t epoch);

// The runtime config ("config" object), created empty when missing.
json& runtime(json& cfg);
const json& runtime(const json& cfg);
std::vector<std::string> strings(const json& cfg, const char* key);  // Env, Cmd, Entrypoint, Shell
std::string string_or(const json& cfg, const char* key, const std::string& fallback);
void set_env(json& cfg, const std::string& key, const std::string& value);
// The value of `key` in the config's Env, or nullopt.
std::optional<std::string> env_value(const json& cfg, const std::string& key);

// sha256 of the canonical bytes: the image ID this config would have.
std::string config_digest(const json& cfg);

}  // namespace mctr::build
