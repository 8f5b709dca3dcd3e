// `save`: images from the store -> one tar that `load` (and docker/podman
// load) read back: docker save's layout (manifest.json, <id>.json,
// <diffid>/layer.tar) or an OCI image layout (oci-layout, index.json,
// blobs/sha256/...). Layers are uncompressed.
//
// A layer goes out as the blob the store kept when it was loaded or pulled
// (decompressed if need be), so a loaded image keeps its diffIDs and, with
// its config kept byte for byte, its image ID. Layers made here (build,
// commit) are written again with build/layer_tar.h, which gives back the
// very same bytes. A layer with neither (loaded before the store kept
// blobs) is repacked: a new diffID, so a new config and ID; the warning
// says so.
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
