// The HTTP side of the OCI distribution API, with libcurl: one registry,
// its base URL, and the answer to its 401 challenges (Docker's flow):
//   WWW-Authenticate: Basic realm=...  -> the request again with
//     Authorization: Basic base64(user:password) (from `minictr login`)
//   WWW-Authenticate: Bearer realm=...,service=...,scope=...  -> GET realm
//     ?service=&scope=&account= (with Basic auth when there are credentials,
//     anonymous otherwise) for a token, then Authorization: Bearer TOKEN.
//     With an identity token (a credential helper's "<token>" user) the
//     token is POSTed for instead: grant_type=refresh_token (OAuth2).
// A 401 that remains is an Error saying whether credentials were missing or
// refused; the password never appears in a message.
//
// https with the system CAs, except for an insecure registry (--insecure,
// or localhost / 127.0.0.0/8 / ::1, as Docker's default insecure list):
// there, as Docker does, https is tried first without verifying the
// certificate, and plain http used if the registry does not speak TLS.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "registry/auth_file.h"

namespace mctr::registry {

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower case
  std::string body;                            // unless streamed to a sink
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct Request {
  std::string method = "GET";  // GET HEAD POST PUT PATCH
  std::string url;             // "/v2/..." (made absolute) or an absolute URL
  std::map<std::string, std::string> headers;
  std::string body;                       // sent when `upload` is empty
  std::filesystem::path upload;           // a file sent as the body: upload_length bytes
  uint64_t upload_offset = 0;             // from here (read as it goes, never whole in memory)
  std::optional<uint64_t> upload_length;  // to the end of the file when unset
  // Bytes of a successful GET's body as they arrive (nothing is kept in
  // Response.body); returning false stops the transfer.
  std::function<bool(const char*, size_t)> sink;
  size_t max_body = 16 << 20;  // for bodies kept in memory
};

class HttpClient {
 public:
  // `registry`: "localhost:5000", "docker.io". `scope`: the token scope
  // asked for on a 401 ("repository:a/b:pull" or ":pull,push") when the
  // challenge names none. `credentials`: what `minictr login` stored, if any.
  HttpClient(const std::string& registry, bool insecure, std::string scope,
             std::optional<Credentials> credentials = std::nullopt);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request; on a 401 the challenge is answered (above) and the request
  // sent once more. Throws mctr::Error on a transport failure (connection
  // refused, TLS) and on a 401 that remains; other HTTP statuses are the
  // caller's.
  Response send(const Request& req);
  const std::string& base() const { return base_; }

 private:
  Response perform(const Request& req);
  void choose_scheme();  // insecure registries: https if it answers, else http
  // Sets authorization_ for the challenge; false when it cannot be answered.
  void answer_challenge(const std::string& header);
  void fetch_token(const std::string& realm, const std::string& service, const std::string& scope);
  [[noreturn]] void throw_unauthorized(const Response& r) const;

  struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  std::unique_ptr<CURL, CurlFree> curl_;
  std::string host_;  // "localhost:5000", "registry-1.docker.io"
  bool insecure_ = false;
  std::string base_;  // "https://localhost:5000", "" until chosen
  std::string scope_;
  std::optional<Credentials> credentials_;
  std::string authorization_;   // "Basic ...", "Bearer ...", or "" before any challenge
  bool basic_refused_ = false;  // the registry answered our Basic credentials with 401
  std::string token_scope_;     // the scope the current bearer token was asked for
};

}  // namespace mctr::registry
