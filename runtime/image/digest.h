// Content digests: "sha256:<64 hex>", computed with OpenSSL's EVP interface.
// Every blob read from an archive is hashed while it streams past, so a
// blob is never held in memory just to check it.
#pragma once

#include <openssl/evp.h>

#include <memory>
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
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

// "sha256:<hex>" of a byte string.
std::string sha256_digest(std::string_view data);

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_sha256_digest(std::string_view d);

// The hex part of a valid digest; throws mctr::Error("invalid digest ...") otherwise.
std::string digest_hex(std::string_view d);

}  // namespace mctr::image
