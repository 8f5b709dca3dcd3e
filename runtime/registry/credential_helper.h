// Docker's credential helpers: the auth file (auth_file.h) may hand a
// registry's credentials to an external program instead of keeping them:
//   {"credsStore": "pass", "credHelpers": {"gcr.io": "gcloud"}}
// names docker-credential-pass for every registry and docker-credential-gcloud
// for gcr.io (an entry in credHelpers wins over credsStore, which wins over the
// inline "auths" entry). The program is found in $PATH and run without a shell,
// one action per run, as Docker's documented protocol says:
//   get     stdin: the server URL  stdout: {"ServerURL","Username","Secret"}
//           (Username "<token>": Secret is an identity token, not a password)
//   store   stdin: {"ServerURL","Username","Secret"}
//   erase   stdin: the server URL
//   list    stdout: {"server URL": "username", ...}
// "credentials not found in native keychain" from get means anonymous; any
// other failure is a CredentialHelperError (one line naming the program,
// exit 125 from every verb).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "registry/auth_file.h"
#include "util/error.h"

namespace mctr::registry {

class CredentialHelperError : public Error {
 public:
  explicit CredentialHelperError(const std::string& what) : Error(what, kExitRuntimeError) {}
};

// The helper's name (the part after "docker-credential-") for `registry`
// ("127.0.0.1:5000", "docker.io"): credHelpers' entry whose key names the same
// host, else credsStore, else std::nullopt. An empty name counts as none, as
// Docker's; a name with a '/' or one that is not a string is refused.
std::optional<std::string> helper_for(const nlohmann::json& config, const std::string& registry);

// Pure parts of the protocol, for tests.
// get's stdout: std::nullopt for empty credentials (an old docker-credential-pass
// answers a miss so); Username "<token>" gives identity_token instead of a password.
std::optional<Credentials> parse_get_answer(const std::string& program, const std::string& out);
// list's stdout: server URL -> username.
std::map<std::string, std::string> parse_list_answer(const std::string& program, const std::string& out);
// store's stdin.
std::string store_request(const std::string& server_url, const Credentials& c);
// Docker's errCredentialsNotFound, as a helper prints it (stdout, trailing newline).
bool is_not_found_answer(const std::string& out);

class CredentialHelper {
 public:
  // `name` as helper_for gives it; the program is "docker-credential-" + name.
  explicit CredentialHelper(const std::string& name);
  const std::string& program() const { return program_; }

  std::optional<Credentials> get(const std::string& server_url) const;
  void store(const std::string& server_url, const Credentials& c) const;
  void erase(const std::string& server_url) const;
  std::map<std::string, std::string> list() const;

 private:
  // The helper's stdout; a failure to start it or a non-zero exit throws,
  // except "not found" when `not_found` is given (set to true then).
  std::string run(const std::string& action, const std::string& input, bool* not_found = nullptr) const;
  std::string program_;
};

// What push and pull use: `registry`'s credentials from its helper when the
// auth file names one, else from the file's "auths"; std::nullopt: anonymous.
std::optional<Credentials> lookup_credentials(const std::filesystem::path& state_root,
                                              const std::string& registry);

}  // namespace mctr::registry
