// `save`: images from the store -> one tar that `load` (and docker/podman
// load) read back: docker save's layout (manifest.json, <id>.json,
// <diffid>/layer.tar) or an OCI image layout (oci-layout, index.json,
// blobs/sha256/...). Layers are uncompressed.
//
// The store keeps layers unpacked, not their tars: each is written again
// with build/layer_tar.h. For a layer made by `build` that gives back the
// very same bytes (same diffID, same image ID); a loaded layer packed by
// another tool gets a new diffID, and its image config (and so its ID)
// changes with it. The warning says so.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "image/store.h"

namespace mctr::build {

enum class SaveFormat { kDocker, kOci };

void save_images(image::Store& store, const std::vector<std::string>& refs, const std::filesystem::path& out,
                 SaveFormat format, std::ostream& warnings);

}  // namespace mctr::build
