// Registry credentials as `minictr login` stores them: Docker's config.json
// format, so a file written by one is read by the other:
//   {"auths": {"127.0.0.1:5000": {"auth": base64("user:password")}}}
// Docker Hub's key is Docker's own, "https://index.docker.io/v1/".
//
// Where: $MINICTR_AUTH_FILE if set, else <state root>/auth.json (mode 0600
// in the 0700 root: like everything minictr keeps, one state root, one set
// of logins; a test's private --root has its own). The password is stored
// base64-encoded, not encrypted, as Docker does without a credential helper
// (credential_helper.h: "credsStore" and "credHelpers" in this file).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mctr::registry {

struct Credentials {
  std::string username;
  std::string password;
  // Instead of username and password: an identity token (an OAuth2 refresh
  // token) from a credential helper, which answers Username "<token>" for one.
  // Defaulted, so {user, password} needs no third field.
  std::string identity_token = {};
};

std::string base64_encode(const std::string& bytes);
// std::nullopt for anything that is not padded standard base64.
std::optional<std::string> base64_decode(const std::string& text);

// The key a registry has in "auths": "docker.io" -> "https://index.docker.io/v1/",
// others as written ("localhost:5000").
std::string auth_key(const std::string& registry);

// Whether an "auths" or "credHelpers" key ("https://host:5000/v1/",
// "host:5000") names `registry` ("host:5000", "docker.io"), as Docker's
// ConvertToHostname compares them.
bool names_registry(const std::string& key, const std::string& registry);

// The credentials stored for `registry` in a parsed config: its key, or an
// entry written with a scheme or path ("https://host:5000/v1/"), as Docker
// reads them. std::nullopt when there is none or its "auth" is not base64 of
// "user:password".
std::optional<Credentials> find_credentials(const nlohmann::json& config, const std::string& registry);
// Set or remove `registry`'s entry (every key naming the same host), keeping
// whatever else the config holds. remove_credentials returns false when there
// was no entry.
void set_credentials(nlohmann::json& config, const std::string& registry, const Credentials& c);
bool remove_credentials(nlohmann::json& config, const std::string& registry);

std::filesystem::path auth_file_path(const std::filesystem::path& state_root);
// The file parsed (an empty object when it does not exist); a file that is
// not JSON throws, naming it.
nlohmann::json read_auth_file(const std::filesystem::path& file);
// What push and pull use: the state root's stored credentials for `registry`.
std::optional<Credentials> stored_credentials(const std::filesystem::path& state_root,
                                              const std::string& registry);
// Written to a temp file and renamed over `file`, mode 0600.
void write_auth_file(const std::filesystem::path& file, const nlohmann::json& config);

}  // namespace mctr::registry
