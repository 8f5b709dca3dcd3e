// The build cache: what a step that changes files produced, found again by
// a key over everything that decides its result:
//   the parent state (its config digest: layers, env, workdir, user...),
//   the instruction text, the build args in effect, and the content digest
//   of the files COPY/ADD read (or the source stage's state for --from).
// A record is <root>/build-cache/<key-hex>.json: {"diff_id": ...} or
// {"empty": true}. A hit whose layer is gone from the store is a miss.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mctr::build {

struct CacheResult {
  std::optional<std::string> diff_id;  // nullopt: the step made no layer
};

class Cache {
 public:
  explicit Cache(std::filesystem::path root) : root_(std::move(root)) {}
  static std::string key(const std::vector<std::string>& parts);
  std::optional<CacheResult> find(const std::string& key) const;
  void put(const std::string& key, const CacheResult& r) const;

 private:
  std::filesystem::path dir() const { return root_ / "build-cache"; }
  std::filesystem::path root_;
};

}  // namespace mctr::build
