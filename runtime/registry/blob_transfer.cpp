#include "registry/blob_transfer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "image/digest.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/scope_guard.h"

namespace mctr::registry {

void expect_status(const Response& r, std::initializer_list<long> ok) {
  if (std::find(ok.begin(), ok.end(), r.status) == ok.end())
    throw Error(image::registry_error_text(r.status, r.body));
}

void download_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d,
                   const std::filesystem::path& file) {
  UniqueFd fd(check_sys(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", file));
  ScopeGuard remove([&] { ::unlink(file.c_str()); });
  image::Sha256 hash;
  uint64_t got = 0;
  int write_errno = 0;
  Request req;
  req.url = repo_path + "/blobs/" + d.digest;
  req.sink = [&](const char* data, size_t n) {
    got += n;
    if (got > d.size) return false;  // more than the manifest says: stop at once
    hash.update(data, n);
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(fd.get(), data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        write_errno = errno;
        return false;
      }
      done += static_cast<size_t>(w);
    }
    return true;
  };
  Response r = http.send(req);
  expect_status(r, {200});
  if (write_errno) throw SysError("write", file.string(), write_errno);
  std::string short_id = d.digest.substr(7, 12);
  if (got != d.size)
    throw Error("blob " + short_id + ": size mismatch: the registry sent " +
                (got > d.size ? "more than " : "") + std::to_string(got) + " bytes, the manifest says " +
                std::to_string(d.size));
  std::string digest = hash.digest();
  if (digest != d.digest)
    throw Error("blob " + short_id + ": digest mismatch: the registry sent " + digest +
                ", the manifest says " + d.digest);
  remove.dismiss();
}

std::string download_small_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d) {
  if (d.size > (16u << 20)) throw Error("config blob " + d.digest.substr(7, 12) + " is larger than 16 MB");
  Request req;
  req.url = repo_path + "/blobs/" + d.digest;
  Response r = http.send(req);
  expect_status(r, {200});
  if (image::sha256_digest(r.body) != d.digest || r.body.size() != d.size)
    throw Error("blob " + d.digest.substr(7, 12) + ": digest mismatch: the registry sent " +
                image::sha256_digest(r.body) + ", the manifest says " + d.digest);
  return r.body;
}

bool upload_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d,
                 const std::filesystem::path& file) {
  Request head;
  head.method = "HEAD";
  head.url = repo_path + "/blobs/" + d.digest;
  Response h = http.send(head);
  if (h.status == 200) return false;
  expect_status(h, {404});

  Request start;
  start.method = "POST";
  start.url = repo_path + "/blobs/uploads/";
  Response s = http.send(start);
  expect_status(s, {202});
  std::string location = s.header("location");
  if (location.empty()) throw Error("the registry started an upload without a Location");
  if (!location.starts_with("/") && !location.starts_with("http://") && !location.starts_with("https://"))
    throw Error("the registry's upload Location is not a URL: " + location.substr(0, 200));

  // One PUT with the whole blob (a "monolithic" upload): the registry
  // hashes what it received and refuses it (400 DIGEST_INVALID) if the
  // digest in the URL does not match.
  Request put;
  put.method = "PUT";
  put.url = location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + d.digest;
  put.upload = file;
  put.headers["Content-Type"] = "application/octet-stream";
  Response p = http.send(put);
  expect_status(p, {201});
  return true;
}

}  // namespace mctr::registry
