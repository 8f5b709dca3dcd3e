// What an image archive contains: for each image, its config and its layer
// blobs, read from the OCI layout (index.json -> manifests) or from docker
// save's manifest.json. Blobs named by digest are verified here (manifests,
// configs); layer blobs are verified while they are unpacked.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image/archive_source.h"

namespace mctr::image {

struct LayerBlob {
  std::string name;                   // file in the archive ("blobs/sha256/<hex>", "<id>/layer.tar")
  std::optional<std::string> digest;  // sha256 of the blob when the format names it
  std::string media_type;             // may be empty (docker save)
  std::string diff_id;                // from the config, filled by read_image_configs
};

struct ArchivedImage {
  std::string config_name;  // file holding the config
  std::optional<std::string> config_digest;
  std::vector<std::string> tags;  // "name:tag", normalized
  std::vector<LayerBlob> layers;  // lowest first
  std::string config_json;        // filled by read_image_configs
  std::string id;                 // "sha256:<hex>" of config_json
};

// List the images in the archive. `default_name` names images that carry only
// a bare tag (OCI "org.opencontainers.image.ref.name": "v1" -> default_name:v1).
std::vector<ArchivedImage> list_archived_images(ArchiveSource& src, const std::string& default_name);

// Read and verify each image's config; fill diff_ids. Throws on a mismatch
// between manifest and config, or more than max_layers layers.
void read_image_configs(ArchiveSource& src, std::vector<ArchivedImage>& images, size_t max_layers);

}  // namespace mctr::image
