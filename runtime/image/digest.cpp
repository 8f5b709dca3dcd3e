#include "image/digest.h"

#include "util/error.h"

namespace mctr::image {

Sha256::Sha256() { sha256_init(&ctx_); }

void Sha256::update(const void* data, size_t len) {
  sha256_update(&ctx_, len, static_cast<const uint8_t*>(data));
}

std::string Sha256::digest() {
  uint8_t md[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx_, sizeof md, md);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < sizeof md; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.digest();
}

bool is_sha256_digest(std::string_view d) {
  if (d.size() != 7 + 64 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string digest_hex(std::string_view d) {
  if (!is_sha256_digest(d)) throw Error("invalid digest \"" + std::string(d.substr(0, 80)) + "\"");
  return std::string(d.substr(7));
}

}  // namespace mctr::image
