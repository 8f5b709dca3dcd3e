#include "registry/http_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "image/registry_manifest.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::registry {

namespace {

bool is_local(const std::string& registry) {
  std::string host = registry;
  if (host.starts_with("["))
    host = host.substr(0, host.find(']') + 1);
  else
    host = host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
  return host == "localhost" || host.starts_with("127.") || host == "[::1]";
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

struct Transfer {
  const Request* req;
  Response* resp;
  int upload_fd = -1;
  uint64_t upload_pos = 0;   // the file offset of the next byte to send
  uint64_t upload_left = 0;  // bytes still to send
  bool too_big = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): its status, its headers
    t->resp->headers.clear();
    size_t sp = line.find(' ');
    t->resp->status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos)
    t->resp->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  // Only a successful GET streams to the sink; error bodies are kept.
  if (t->req->sink && t->resp->status >= 200 && t->resp->status < 300) {
    return t->req->sink(data, len) ? len : 0;
  }
  if (t->resp->body.size() + len > t->req->max_body) {
    t->too_big = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, t->upload_left));
  if (want == 0) return 0;
  for (;;) {
    ssize_t r = ::pread(t->upload_fd, buf, want, static_cast<off_t>(t->upload_pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return CURL_READFUNC_ABORT;  // an error, or the file shrank under us
    t->upload_pos += static_cast<uint64_t>(r);
    t->upload_left -= static_cast<uint64_t>(r);
    return static_cast<size_t>(r);
  }
}

}  // namespace

HttpClient::HttpClient(const std::string& registry, bool insecure, std::string scope,
                       std::optional<Credentials> credentials)
    : curl_(curl_easy_init()), scope_(std::move(scope)), credentials_(std::move(credentials)) {
  if (!curl_) throw Error("curl_easy_init failed");
  host_ = registry == "docker.io" ? "registry-1.docker.io" : registry;
  insecure_ = insecure || is_local(registry);
  if (!insecure_) base_ = "https://" + host_;
}

void HttpClient::choose_scheme() {
  base_ = "https://" + host_;
  Request ping;
  ping.url = "/v2/";
  try {
    perform(ping);  // any HTTP answer (200, 401, 404) means it speaks TLS
  } catch (const Error&) {
    base_ = "http://" + host_;
  }
}

HttpClient::~HttpClient() = default;

Response HttpClient::perform(const Request& req) {
  CURL* c = curl_.get();
  curl_easy_reset(c);
  Response resp;
  Transfer t{&req, &resp};
  std::string url = req.url.starts_with("/") ? base_ + req.url : req.url;
  if (insecure_) {  // an insecure registry's certificate is not checked (Docker's insecure-registries)
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req.method == "GET" || req.method == "HEAD" ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 byte/s for 60 s) fails instead of hanging.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "minictr");
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);

  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  if (!authorization_.empty())
    headers = curl_slist_append(headers, ("Authorization: " + authorization_).c_str());
  // No "Expect: 100-continue" pause before each upload.
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> free_headers(headers, curl_slist_free_all);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  UniqueFd upload;
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (!req.upload.empty()) {
    upload.reset(check_sys(::open(req.upload.c_str(), O_RDONLY | O_CLOEXEC), "open", req.upload));
    struct stat st;
    check_sys(::fstat(upload.get(), &st), "fstat", req.upload);
    uint64_t file_size = static_cast<uint64_t>(st.st_size);
    if (req.upload_offset > file_size) throw Error(req.upload.string() + ": upload offset past the end");
    t.upload_fd = upload.get();
    t.upload_pos = req.upload_offset;
    t.upload_left = req.upload_length.value_or(file_size - req.upload_offset);
    if (t.upload_left > file_size - req.upload_offset)
      throw Error(req.upload.string() + ": upload range past the end of the file");
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.upload_left));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (t.too_big)
    throw Error(req.method + " " + url + ": the response is larger than " + std::to_string(req.max_body) +
                " bytes");
  if (rc == CURLE_WRITE_ERROR && req.sink) return resp;  // the sink stopped it; it says why
  if (rc != CURLE_OK) throw Error(req.method + " " + url + ": " + curl_easy_strerror(rc));
  return resp;
}

Response HttpClient::send(const Request& req) {
  if (base_.empty()) choose_scheme();
  Response r = perform(req);
  // Two rounds at most: the first challenge, and a second one asking for a
  // wider bearer scope (a cross-repository mount also needs pull on the source).
  for (int round = 0; round < 2 && r.status == 401; ++round) {
    std::string before = authorization_;
    answer_challenge(r.header("www-authenticate"));
    if (authorization_ == before) break;
    r = perform(req);
  }
  if (r.status == 401) throw_unauthorized(r);
  return r;
}

void HttpClient::answer_challenge(const std::string& header) {
  auto c = image::parse_www_authenticate(header);
  if (!c) return;
  if (c->scheme == "basic") {
    // An identity token is only good at a token realm (fetch_token).
    if (!credentials_ || !credentials_->identity_token.empty()) return;
    std::string basic = "Basic " + base64_encode(credentials_->username + ":" + credentials_->password);
    if (authorization_ == basic) {
      basic_refused_ = true;
      return;
    }
    authorization_ = basic;
  } else if (c->scheme == "bearer" && c->params.count("realm")) {
    std::string scope = c->params.count("scope") ? c->params["scope"] : scope_;
    if (authorization_.starts_with("Bearer ") && scope == token_scope_) return;  // that token was refused
    fetch_token(c->params["realm"], c->params.count("service") ? c->params["service"] : "", scope);
  } else {
    throw Error("the registry asks for authentication this client does not speak: " + header.substr(0, 200));
  }
}

void HttpClient::throw_unauthorized(const Response& r) const {
  std::string said = image::registry_error_text(r.status, r.body);
  if (said.starts_with("HTTP status")) said = "authentication required (" + said + ")";  // a HEAD: no body
  if (!credentials_)
    throw Error("unauthorized: " + said + "; no credentials stored for " + host_ + " (minictr login " +
                host_ + ")");
  if (basic_refused_) throw Error("unauthorized: incorrect username or password (" + said + ")");
  if (!credentials_->identity_token.empty())
    throw Error("unauthorized: " + said + " (an identity token from the credential helper)");
  throw Error("unauthorized: " + said + " (user " + credentials_->username + ")");
}

void HttpClient::fetch_token(const std::string& realm, const std::string& service, const std::string& scope) {
  CURL* h = curl_.get();
  auto escape = [h](const std::string& v) {
    char* esc = curl_easy_escape(h, v.c_str(), static_cast<int>(v.size()));
    std::string out = esc;
    curl_free(esc);
    return out;
  };
  std::string url = realm;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](const std::string& key, const std::string& value) {
    url += sep + key + "=" + escape(value);
    sep = '&';
  };
  if (!service.empty()) add("service", service);
  // Several scopes in one challenge are space separated; token servers take
  // them as repeated parameters (Docker's client sends them so).
  for (size_t b = 0; b < scope.size();) {
    size_t e = std::min(scope.find(' ', b), scope.size());
    if (e > b) add("scope", scope.substr(b, e - b));
    b = e + 1;
  }
  bool identity = credentials_ && !credentials_->identity_token.empty();
  if (credentials_ && !identity) add("account", credentials_->username);
  Request req;
  req.url = url;
  // The realm is asked with the registry's own Basic credentials, never
  // with a bearer token of an earlier scope.
  authorization_ = credentials_ && !identity
                       ? "Basic " + base64_encode(credentials_->username + ":" + credentials_->password)
                       : "";
  if (identity) {
    // An identity token is an OAuth2 refresh token: POSTed to the realm as a
    // form, as Docker's client does (distribution's fetchTokenWithOAuth).
    req.method = "POST";
    req.url = realm;
    req.headers["Content-Type"] = "application/x-www-form-urlencoded";
    req.body =
        "grant_type=refresh_token&client_id=minictr&refresh_token=" + escape(credentials_->identity_token);
    if (!service.empty()) req.body += "&service=" + escape(service);
    if (!scope.empty()) req.body += "&scope=" + escape(scope);
  }
  Response r = perform(req);
  authorization_.clear();
  if (r.status == 401 && identity)
    throw Error("unauthorized: the identity token was refused (token from " + realm + ": " +
                image::registry_error_text(r.status, r.body) + ")");
  if (r.status == 401 && credentials_)
    throw Error("unauthorized: incorrect username or password (token from " + realm + ": " +
                image::registry_error_text(r.status, r.body) + ")");
  if (r.status == 401)
    throw Error("unauthorized: token from " + realm + ": " + image::registry_error_text(r.status, r.body) +
                "; no credentials stored for " + host_ + " (minictr login " + host_ + ")");
  if (r.status != 200)
    throw Error("token from " + realm + ": " + image::registry_error_text(r.status, r.body));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string tok = j.is_object() ? j.value("token", j.value("access_token", "")) : "";
  if (tok.empty()) throw Error("token from " + realm + ": no token in the answer");
  authorization_ = "Bearer " + tok;
  token_scope_ = scope;
}

}  // namespace mctr::registry
