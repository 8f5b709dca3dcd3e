#include "registry/blob_transfer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

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

uint64_t upload_chunk_size() {
  const char* env = std::getenv("MINICTR_UPLOAD_CHUNK_SIZE");
  if (!env || !*env) return 16u << 20;
  char* end = nullptr;
  unsigned long long n = std::strtoull(env, &end, 10);
  std::string_view unit = end;
  uint64_t scale = unit == ""                   ? 1
                   : unit == "K" || unit == "k" ? 1024
                   : unit == "M" || unit == "m" ? 1u << 20
                   : unit == "G" || unit == "g" ? 1u << 30
                                                : 0;
  if (end == env || scale == 0 || n == 0 || n > (1ull << 40) / scale)
    throw Error("MINICTR_UPLOAD_CHUNK_SIZE=" + std::string(env) + ": not a size (bytes, or with K, M or G)");
  return n * scale;
}

namespace {

std::string checked_location(const Response& r) {
  std::string location = r.header("location");
  if (location.empty()) throw Error("the registry answered an upload request without a Location");
  if (!location.starts_with("/") && !location.starts_with("http://") && !location.starts_with("https://"))
    throw Error("the registry's upload Location is not a URL: " + location.substr(0, 200));
  return location;
}

std::string with_digest(const std::string& location, const std::string& digest) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
}

// PATCH the file in chunks; returns the Location the last answer gave.
std::string upload_chunks(HttpClient& http, std::string location, const std::filesystem::path& file,
                          uint64_t size, uint64_t chunk_size) {
  for (uint64_t offset = 0; offset < size;) {
    uint64_t n = std::min(chunk_size, size - offset);
    Request patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.upload = file;
    patch.upload_offset = offset;
    patch.upload_length = n;
    patch.headers["Content-Type"] = "application/octet-stream";
    patch.headers["Content-Range"] = std::to_string(offset) + "-" + std::to_string(offset + n - 1);
    Response r = http.send(patch);
    expect_status(r, {202});
    // The registry says how much it holds ("0-<last byte>"): anything else
    // means it lost or doubled a chunk, and the final digest would fail late.
    std::string range = r.header("range");
    std::string want = "0-" + std::to_string(offset + n - 1);
    if (!range.empty() && range != want && range != "bytes=" + want)
      throw Error("chunked upload: the registry holds " + range + " after bytes " + want);
    location = checked_location(r);
    offset += n;
  }
  return location;
}

}  // namespace

Upload upload_blob(HttpClient& http, const std::string& repo_path, const image::Descriptor& d,
                   const std::filesystem::path& file, const std::string& mount_from, uint64_t chunk_size) {
  Request head;
  head.method = "HEAD";
  head.url = repo_path + "/blobs/" + d.digest;
  Response h = http.send(head);
  if (h.status == 200) return Upload::kExists;
  expect_status(h, {404});

  Request start;
  start.method = "POST";
  start.url = repo_path + "/blobs/uploads/";
  // A registry that cannot mount (no such blob there, no pull right on
  // `from`) starts an ordinary upload instead: 202, nothing lost.
  if (!mount_from.empty()) start.url += "?mount=" + d.digest + "&from=" + mount_from;
  Response s = http.send(start);
  if (!mount_from.empty() && s.status == 201) return Upload::kMounted;
  expect_status(s, {202});
  std::string location = checked_location(s);

  uint64_t size = std::filesystem::file_size(file);
  Request put;
  put.method = "PUT";
  put.headers["Content-Type"] = "application/octet-stream";
  if (size <= chunk_size) {
    put.upload = file;
  } else {
    location = upload_chunks(http, location, file, size, chunk_size);
  }
  put.url = with_digest(location, d.digest);
  Response p = http.send(put);
  expect_status(p, {201});
  return Upload::kPushed;
}

}  // namespace mctr::registry
