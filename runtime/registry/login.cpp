#include "registry/login.h"

#include "registry/blob_transfer.h"
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
  set_credentials(config, registry, credentials);
  write_auth_file(file, config);
  warnings << "WARNING! Your password will be stored unencrypted in " << file.string() << ".\n";
  out << "Login Succeeded\n";
}

void logout(const std::filesystem::path& state_root, const std::string& server, std::ostream& out) {
  std::string registry = normalize_registry(server);
  std::filesystem::path file = auth_file_path(state_root);
  nlohmann::json config = read_auth_file(file);
  if (!remove_credentials(config, registry)) {
    out << "Not logged in to " << registry << "\n";
    return;
  }
  write_auth_file(file, config);
  out << "Removing login credentials for " << registry << "\n";
}

}  // namespace mctr::registry
