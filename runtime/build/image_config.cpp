#include "build/image_config.h"

#include <ctime>

#include "image/digest.h"

namespace mctr::build {

std::string rfc3339(int64_t epoch) {
  time_t t = static_cast<time_t>(epoch);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static std::string host_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

json scratch_config() {
  json c;
  c["architecture"] = host_arch();
  c["os"] = "linux";
  c["config"] = json::object();
  c["rootfs"] = {{"type", "layers"}, {"diff_ids", json::array()}};
  c["history"] = json::array();
  return c;
}

json base_config(const std::string& stored_json) {
  json in = json::parse(stored_json);
  json c = scratch_config();
  for (const char* k : {"architecture", "os", "variant", "config", "rootfs", "history"})
    if (in.contains(k)) c[k] = in[k];
  if (!c["config"].is_object()) c["config"] = json::object();
  if (!c["history"].is_array()) c["history"] = json::array();
  return c;
}

std::vector<std::string> diff_ids(const json& cfg) {
  std::vector<std::string> out;
  for (const auto& d : cfg.at("rootfs").at("diff_ids")) out.push_back(d.get<std::string>());
  return out;
}

void add_layer(json& cfg, const std::string& diff_id) { cfg["rootfs"]["diff_ids"].push_back(diff_id); }

void add_history(json& cfg, const std::string& created_by, bool empty_layer, int64_t epoch) {
  json h = {{"created", rfc3339(epoch)}, {"created_by", created_by}, {"comment", "minictr build"}};
  if (empty_layer) h["empty_layer"] = true;
  cfg["history"].push_back(h);
  cfg["created"] = rfc3339(epoch);
}

json& runtime(json& cfg) {
  if (!cfg.contains("config") || !cfg["config"].is_object()) cfg["config"] = json::object();
  return cfg["config"];
}

const json& runtime(const json& cfg) {
  static const json empty = json::object();
  return cfg.contains("config") && cfg["config"].is_object() ? cfg["config"] : empty;
}

std::vector<std::string> strings(const json& cfg, const char* key) {
  std::vector<std::string> out;
  const json& r = runtime(cfg);
  if (r.contains(key) && r[key].is_array())
    for (const auto& v : r[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string string_or(const json& cfg, const char* key, const std::string& fallback) {
  const json& r = runtime(cfg);
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : fallback;
}

void set_env(json& cfg, const std::string& key, const std::string& value) {
  std::vector<std::string> env = strings(cfg, "Env");
  std::string kv = key + "=" + value;
  bool replaced = false;
  for (auto& e : env)
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = kv;
      replaced = true;
    }
  if (!replaced) env.push_back(kv);
  runtime(cfg)["Env"] = env;
}

std::optional<std::string> env_value(const json& cfg, const std::string& key) {
  for (const auto& e : strings(cfg, "Env"))
    if (e.compare(0, key.size() + 1, key + "=") == 0) return e.substr(key.size() + 1);
  return std::nullopt;
}

std::string config_digest(const json& cfg) { return image::sha256_digest(cfg.dump()); }

}  // namespace mctr::build
