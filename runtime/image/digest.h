// Content digests: "sha256:<64 hex>", computed with nettle (which libarchive
// links already; it uses the CPU's SHA instructions where there are some).
// Every blob read from an archive is hashed while it streams past, so a
// blob is never held in memory just to check it.
#pragma once

#include <nettle/sha2.h>

#include <string>
#include <string_view>

namespace mctr::image {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  // "sha256:<hex>"; the hasher cannot be updated afterwards.
  std::string digest();

 private:
  sha256_ctx ctx_;
};

// "sha256:<hex>" of a byte string.
std::string sha256_digest(std::string_view data);

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_sha256_digest(std::string_view d);

// The hex part of a valid digest; throws mctr::Error("invalid digest ...") otherwise.
std::string digest_hex(std::string_view d);

}  // namespace mctr::image
