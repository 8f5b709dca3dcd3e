// The HTTP side of the OCI distribution API, with libcurl: one registry,
// its base URL, and bearer tokens fetched when the registry asks for them
// (WWW-Authenticate: Bearer realm=...,service=...,scope=...; anonymous).
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
#include <string>

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
  std::string body;              // sent when `upload` is empty
  std::filesystem::path upload;  // a file sent as the body
  // Bytes of a successful GET's body as they arrive (nothing is kept in
  // Response.body); returning false stops the transfer.
  std::function<bool(const char*, size_t)> sink;
  size_t max_body = 16 << 20;  // for bodies kept in memory
};

class HttpClient {
 public:
  // `registry`: "localhost:5000", "docker.io". `scope`: the token scope
  // asked for on a 401 ("repository:a/b:pull" or ":pull,push").
  HttpClient(const std::string& registry, bool insecure, std::string scope);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request; on 401 with a Bearer challenge, a token is fetched and the
  // request sent once more. Throws mctr::Error on a transport failure
  // (connection refused, TLS), never for an HTTP status.
  Response send(const Request& req);
  const std::string& base() const { return base_; }

 private:
  Response perform(const Request& req);
  void choose_scheme();  // insecure registries: https if it answers, else http
  void fetch_token(const std::string& challenge);

  struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  std::unique_ptr<CURL, CurlFree> curl_;
  std::string host_;  // "localhost:5000", "registry-1.docker.io"
  bool insecure_ = false;
  std::string base_;  // "https://localhost:5000", "" until chosen
  std::string scope_;
  std::string token_;
};

}  // namespace mctr::registry
