#include "registry/login.h"

#include "registry/blob_transfer.h"
#include "registry/credential_helper.h"
#include "registry/http_client.h"
#include "util/error.h"

namespace mctr::registry {

std::string normalize_registry(const std::string& server) {
  std::string host = server;
  for (const char* scheme : {"https://", "http://"})
    if (host.starts_with(scheme)) host = host.substr(std::string_view(scheme).size());
  host = host.substr(0, host.find('/'));
  if (host.empty() || host == "index.docker.io" || host == "registry-1.docker.io") return "docker.io";
  return host;
}

void login(const std::filesystem::path& state_root, const std::string& server, bool insecure,
           const Credentials& credentials, std::ostream& out, std::ostream& warnings) {
  if (credentials.username.empty()) throw Error("login: a username is required");
  if (credentials.username.find(':') != std::string::npos)
    throw Error("login: a username cannot contain ':' (it separates it from the password)");
  if (credentials.password.empty()) throw Error("login: a password is required");
  std::string registry = normalize_registry(server);
  HttpClient http(registry, insecure, "", credentials);
  Request ping;
  ping.url = "/v2/";
  expect_status(http.send(ping), {200});

  std::filesystem::path file = auth_file_path(state_root);
  nlohmann::json config = read_auth_file(file);
  if (auto helper = helper_for(config, registry)) {
    CredentialHelper(*helper).store(auth_key(registry), credentials);
    // As Docker's: the file keeps an entry with no secret, and loses any
    // password an earlier login left inline.
    remove_credentials(config, registry);
    if (!config["auths"].is_object()) config["auths"] = nlohmann::json::object();
    config["auths"][auth_key(registry)] = nlohmann::json::object();
  } else {
    set_credentials(config, registry, credentials);
    warnings << "WARNING! Your password will be stored unencrypted in " << file.string() << ".\n";
  }
  write_auth_file(file, config);
  out << "Login Succeeded\n";
}

void logout(const std::filesystem::path& state_root, const std::string& server, std::ostream& out) {
  std::string registry = normalize_registry(server);
  std::filesystem::path file = auth_file_path(state_root);
  nlohmann::json config = read_auth_file(file);
  bool erased = false;
  if (auto name = helper_for(config, registry)) {
    // Every key the helper holds for this host ("host:5000", "https://host:5000").
    CredentialHelper helper(*name);
    for (const auto& [server_url, user] : helper.list())
      if (names_registry(server_url, registry)) {
        helper.erase(server_url);
        erased = true;
      }
  }
  if (remove_credentials(config, registry)) {
    write_auth_file(file, config);
    erased = true;
  }
  if (!erased) {
    out << "Not logged in to " << registry << "\n";
    return;
  }
  out << "Removing login credentials for " << registry << "\n";
}

}  // namespace mctr::registry
