// Unpack one layer blob into a directory that overlayfs can use as a lower
// layer, verifying the blob while it streams:
//
//   blob bytes ──sha256 (blob digest)──> decompress (gzip/zstd/none, detected)
//              ──sha256 (diffID)──> tar reader ──> files written by us
//
// Files are written with openat/mkdirat/symlinkat/linkat/mknodat relative to
// directory fds that were opened with openat2(RESOLVE_IN_ROOT): a hostile
// tar ("..", absolute paths, symlinked parents, hardlinks to the host) can
// never make us write outside the layer directory. libarchive's own
// extraction is not used.
//
// Docker/OCI whiteouts become overlayfs whiteouts:
//   dir/.wh.NAME       -> dir/NAME as a character device 0:0
//   dir/.wh..wh..opq   -> xattr trusted.overlay.opaque="y" on dir
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "image/archive_source.h"
#include "image/store.h"

namespace mctr::image {

struct LayerExpect {
  std::optional<std::string> blob_digest;  // sha256 of the (compressed) blob, when the format records it
  std::string diff_id;                     // sha256 of the uncompressed tar, from the image config
};

struct LayerStats {
  uint64_t bytes = 0;    // sum of regular file sizes
  uint64_t entries = 0;  // tar entries
};

// Unpack `blob` into `dir` (an existing empty directory). Throws mctr::Error
// naming the layer on corrupt, hostile or oversized input; the caller removes
// `dir` then. `progress(done)` gets the count of blob bytes read so far.
LayerStats unpack_layer(BlobReader& blob, const std::filesystem::path& dir, const LayerExpect& expect,
                        const LoadLimits& limits, const std::function<void(uint64_t)>& progress = {});

}  // namespace mctr::image
