// The chat page (inference/server/web/*), compiled into the binary by web/embed.cmake.
#pragma once

#include <cstddef>
#include <string_view>

namespace mctr::infer {

struct WebAsset {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;

// The asset served at `path` ("/" is /index.html), or nullptr.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace mctr::infer
