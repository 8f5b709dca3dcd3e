#include "registry/credential_helper.h"

#include "util/subprocess.h"

namespace mctr::registry {

namespace {

constexpr char kNotFound[] = "credentials not found in native keychain";
constexpr char kIdentityTokenUser[] = "<token>";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A helper's message as one line of an error: its first non-empty line,
// at most 200 bytes (a helper may print a page, or binary junk).
std::string one_line(const std::string& text) {
  std::string t = trim(text);
  std::string line = trim(t.substr(0, t.find('\n')));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

nlohmann::json parse_object(const std::string& program, const std::string& action, const std::string& out) {
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_object())
    throw CredentialHelperError(program + " " + action + ": its answer is not a JSON object: '" +
                                one_line(out) + "'");
  return j;
}

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::optional<std::string> helper_for(const nlohmann::json& config, const std::string& registry) {
  if (!config.is_object()) return std::nullopt;
  std::optional<nlohmann::json> chosen;
  const char* where = "credsStore";
  if (auto helpers = config.find("credHelpers"); helpers != config.end() && helpers->is_object())
    for (auto it = helpers->begin(); it != helpers->end(); ++it)
      if (names_registry(it.key(), registry)) {
        chosen = it.value();
        where = "credHelpers";
        break;
      }
  if (!chosen)
    if (auto store = config.find("credsStore"); store != config.end()) chosen = *store;
  if (!chosen) return std::nullopt;
  if (!chosen->is_string())
    throw CredentialHelperError(std::string(where) + ": the helper's name is not a string");
  std::string name = chosen->get<std::string>();
  if (name.empty()) return std::nullopt;
  // The name is a suffix, never a path: "../x" must not run a program from the cwd.
  if (name.find('/') != std::string::npos)
    throw CredentialHelperError(std::string(where) + ": '" + name + "' is not a helper name (it has a '/')");
  return name;
}

std::optional<Credentials> parse_get_answer(const std::string& program, const std::string& out) {
  auto j = parse_object(program, "get", out);
  std::string user = string_field(j, "Username"), secret = string_field(j, "Secret");
  if (secret.empty()) return std::nullopt;  // nothing stored (or nothing usable)
  if (user == kIdentityTokenUser) return Credentials{"", "", secret};
  if (user.empty()) throw CredentialHelperError(program + " get: its answer has a Secret but no Username");
  return Credentials{user, secret, ""};
}

std::map<std::string, std::string> parse_list_answer(const std::string& program, const std::string& out) {
  auto j = parse_object(program, "list", out);
  std::map<std::string, std::string> entries;
  for (auto it = j.begin(); it != j.end(); ++it)
    entries[it.key()] = it->is_string() ? it->get<std::string>() : "";
  return entries;
}

std::string store_request(const std::string& server_url, const Credentials& c) {
  bool token = !c.identity_token.empty();
  nlohmann::json j = {{"ServerURL", server_url},
                      {"Username", token ? kIdentityTokenUser : c.username},
                      {"Secret", token ? c.identity_token : c.password}};
  return j.dump();
}

bool is_not_found_answer(const std::string& out) { return trim(out) == kNotFound; }

CredentialHelper::CredentialHelper(const std::string& name) : program_("docker-credential-" + name) {}

std::string CredentialHelper::run(const std::string& action, const std::string& input,
                                  bool* not_found) const {
  ProcessResult r;
  try {
    r = run_process({program_, action}, input);
  } catch (const SysError& e) {
    if (e.err() == ENOENT)
      throw CredentialHelperError(program_ +
                                  ": not found in $PATH (named by the auth file's credsStore or "
                                  "credHelpers)");
    throw CredentialHelperError(program_ + " " + action + ": " + e.what());
  }
  if (r.status == 0) return r.out;
  // Helpers print their errors on stdout (the protocol's word), some on stderr.
  if (not_found && (is_not_found_answer(r.out) || is_not_found_answer(r.err))) {
    *not_found = true;
    return "";
  }
  std::string said = one_line(r.out).empty() ? one_line(r.err) : one_line(r.out);
  throw CredentialHelperError(program_ + " " + action + " failed (exit " + std::to_string(r.status) + ")" +
                              (said.empty() ? "" : ": " + said));
}

std::optional<Credentials> CredentialHelper::get(const std::string& server_url) const {
  bool not_found = false;
  std::string out = run("get", server_url, &not_found);
  if (not_found) return std::nullopt;
  return parse_get_answer(program_, out);
}

void CredentialHelper::store(const std::string& server_url, const Credentials& c) const {
  run("store", store_request(server_url, c));
}

void CredentialHelper::erase(const std::string& server_url) const { run("erase", server_url); }

std::map<std::string, std::string> CredentialHelper::list() const {
  return parse_list_answer(program_, run("list", ""));
}

std::optional<Credentials> lookup_credentials(const std::filesystem::path& state_root,
                                              const std::string& registry) {
  nlohmann::json config = read_auth_file(auth_file_path(state_root));
  if (auto name = helper_for(config, registry)) return CredentialHelper(*name).get(auth_key(registry));
  return find_credentials(config, registry);
}

}  // namespace mctr::registry
