// A tar that may be compressed (gzip, bzip2, xz, zstd, or not at all) ->
// the plain bytes in a file, and their sha256: a layer's diffID. `import`
// reads its input this way, `save` a kept layer blob that came compressed.
#pragma once

#include <filesystem>
#include <string>

namespace mctr::build {

// `source`: a file, or "-" for stdin. `what` starts error messages ("import").
std::string decompress_to(const std::string& source, const std::filesystem::path& out,
                          const std::string& what);

}  // namespace mctr::build
