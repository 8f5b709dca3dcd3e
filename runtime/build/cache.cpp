#include "build/cache.h"

#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/store.h"
#include "util/fs.h"
#include "util/paths.h"

namespace mctr::build {

using json = nlohmann::json;

std::string Cache::key(const std::vector<std::string>& parts) {
  image::Sha256 h;
  for (const auto& p : parts) {
    std::string len = std::to_string(p.size()) + ":";
    h.update(len.data(), len.size());
    h.update(p.data(), p.size());
  }
  return h.digest();
}

std::optional<CacheResult> Cache::find(const std::string& key) const {
  auto text = fs::read_file_if_exists(dir() / (image::digest_hex(key) + ".json"));
  if (!text) return std::nullopt;
  try {
    json j = json::parse(*text);
    CacheResult r;
    if (j.contains("diff_id")) {
      r.diff_id = j["diff_id"].get<std::string>();
      if (!image::Store(root_).has_layer(*r.diff_id)) return std::nullopt;  // pruned since
    }
    return r;
  } catch (const json::exception&) {
    return std::nullopt;  // a torn or foreign record is just a miss
  }
}

void Cache::put(const std::string& key, const CacheResult& r) const {
  make_private_dir(dir());
  json j = json::object();
  if (r.diff_id)
    j["diff_id"] = *r.diff_id;
  else
    j["empty"] = true;
  fs::write_file_atomic(dir() / (image::digest_hex(key) + ".json"), j.dump() + "\n", 0600, false);
}

}  // namespace mctr::build
