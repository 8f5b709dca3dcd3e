// `minictr login` and `logout`, as Docker's:
//   login:  GET /v2/ with the credentials, answering the registry's 401
//           challenge (Basic, or a Bearer token from its realm: http_client.h);
//           a 200 stores them in the auth file (auth_file.h), or through the
//           credential helper it names (credential_helper.h: the file then
//           keeps an empty entry, no secret); anything else stores nothing
//           and throws ("unauthorized: incorrect username or password (...)").
//   logout: the registry's entry removed from the auth file, and every entry
//           its credential helper lists for the host erased; no network.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "registry/auth_file.h"

namespace mctr::registry {

// "https://host:5000/", "host:5000" -> "host:5000"; "", "index.docker.io",
// "registry-1.docker.io", "https://index.docker.io/v1/" -> "docker.io".
std::string normalize_registry(const std::string& server);

void login(const std::filesystem::path& state_root, const std::string& server, bool insecure,
           const Credentials& credentials, std::ostream& out, std::ostream& warnings);
void logout(const std::filesystem::path& state_root, const std::string& server, std::ostream& out);

}  // namespace mctr::registry
