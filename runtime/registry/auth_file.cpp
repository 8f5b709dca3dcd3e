#include "registry/auth_file.h"

#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::registry {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// "https://host:5000/v1/" -> "host:5000" (Docker's ConvertToHostname).
std::string hostname_of(const std::string& key) {
  std::string h = key;
  for (const char* scheme : {"https://", "http://"})
    if (h.starts_with(scheme)) h = h.substr(std::string_view(scheme).size());
  return h.substr(0, h.find('/'));
}

std::string host_of_registry(const std::string& registry) {
  std::string h = hostname_of(registry);
  return h == "docker.io" ? "index.docker.io" : h;
}

}  // namespace

bool names_registry(const std::string& key, const std::string& registry) {
  return key == auth_key(registry) || host_of_registry(key) == host_of_registry(registry);
}

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    for (int k = 0; k < 4; ++k) v[k] = sextet(text[i + k]);
    bool last = i + 4 == text.size();
    int pad = (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=');
    if (pad && !last) return std::nullopt;
    if (v[0] < 0 || v[1] < 0 || (pad < 2 && v[2] < 0) || (pad < 1 && v[3] < 0)) return std::nullopt;
    uint32_t n = (v[0] << 18) | (v[1] << 12) | ((pad < 2 ? v[2] : 0) << 6) | (pad < 1 ? v[3] : 0);
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string auth_key(const std::string& registry) {
  return registry == "docker.io" ? "https://index.docker.io/v1/" : registry;
}

std::optional<Credentials> find_credentials(const nlohmann::json& config, const std::string& registry) {
  if (!config.is_object() || !config.contains("auths") || !config["auths"].is_object()) return std::nullopt;
  const auto& auths = config["auths"];
  // The exact key first, then any key naming the same host.
  auto entry = auths.find(auth_key(registry));
  if (entry == auths.end())
    for (auto it = auths.begin(); it != auths.end(); ++it)
      if (names_registry(it.key(), registry)) {
        entry = it;
        break;
      }
  if (entry == auths.end() || !entry->is_object() || !entry->contains("auth") ||
      !(*entry)["auth"].is_string())
    return std::nullopt;
  auto decoded = base64_decode((*entry)["auth"].get<std::string>());
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool remove_credentials(nlohmann::json& config, const std::string& registry) {
  if (!config.is_object() || !config.contains("auths") || !config["auths"].is_object()) return false;
  auto& auths = config["auths"];
  bool removed = false;
  for (auto it = auths.begin(); it != auths.end();) {
    if (names_registry(it.key(), registry)) {
      it = auths.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  return removed;
}

void set_credentials(nlohmann::json& config, const std::string& registry, const Credentials& c) {
  if (!config.is_object()) config = nlohmann::json::object();
  remove_credentials(config, registry);
  if (!config.contains("auths") || !config["auths"].is_object()) config["auths"] = nlohmann::json::object();
  config["auths"][auth_key(registry)] = {{"auth", base64_encode(c.username + ":" + c.password)}};
}

std::filesystem::path auth_file_path(const std::filesystem::path& state_root) {
  if (const char* f = std::getenv("MINICTR_AUTH_FILE"); f && *f) return f;
  return state_root / "auth.json";
}

nlohmann::json read_auth_file(const std::filesystem::path& file) {
  auto text = fs::read_file_if_exists(file);
  if (!text) return nlohmann::json::object();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) throw Error(file.string() + ": not a JSON object (registry credentials)");
  return j;
}

std::optional<Credentials> stored_credentials(const std::filesystem::path& state_root,
                                              const std::string& registry) {
  return find_credentials(read_auth_file(auth_file_path(state_root)), registry);
}

void write_auth_file(const std::filesystem::path& file, const nlohmann::json& config) {
  if (file.has_parent_path()) fs::mkdir_p(file.parent_path(), 0700);
  fs::write_file_atomic(file, config.dump(1, '\t') + "\n", 0600);
}

}  // namespace mctr::registry
