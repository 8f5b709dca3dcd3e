// The image store: loads OCI / docker-save archives into verified content
// under <root>/, and resolves image references for `run`.
//
// Layout (owned by this module):
//   <root>/layers/<diffid-hex>/        one unpacked layer, shared between images
//   <root>/layers/<diffid-hex>.json    its size and entry count
//   <root>/images/<id-hex>.json        one record per image (config + layer list + tags)
//   <root>/tmp/                        unpack in progress (renamed into place when done)
//   <root>/locks/                      store.lock (records), layer-<hex>.lock (one unpack at a time)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mctr::image {

class BlobReader;  // image/archive_source.h

// The parts of the OCI image config that `run` uses.
struct ImageConfig {
  std::vector<std::string> env;  // "KEY=value"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;
  std::vector<std::string> exposed_ports;  // "8080/tcp"
  std::vector<std::string> volumes;        // "/app/data"
  std::map<std::string, std::string> labels;
};

struct Image {
  std::string id;                                 // "sha256:<hex>" of the config blob
  std::vector<std::string> repo_tags;             // "busybox:latest"
  std::vector<std::string> diff_ids;              // "sha256:<hex>", lowest layer first
  std::vector<std::filesystem::path> layer_dirs;  // absolute, same order as diff_ids
  ImageConfig config;
  std::string architecture, os;
  std::string created;  // from the config, RFC 3339
  uint64_t size = 0;    // unpacked bytes of all layers
};

struct LoadLimits {
  uint64_t max_unpacked_bytes = 64ull << 30;  // per layer; decompression bombs stop here
  uint64_t max_entries = 10'000'000;          // per layer
  size_t max_layers = 125;                    // Docker's limit
  // Defaults overridden by MINICTR_MAX_LAYER_SIZE (bytes, or with k/m/g suffix)
  // and MINICTR_MAX_LAYER_ENTRIES.
  static LoadLimits from_env();
};

// What Store::remove did, for `rmi` to print like Docker does.
struct RemoveResult {
  std::vector<std::string> untagged;  // "busybox:latest"
  std::vector<std::string> deleted;   // image id, then removed layers' diffIDs
};

// Progress of one layer: bytes of the compressed stream read so far / total.
using ProgressFn = std::function<void(const std::string& diff_id, uint64_t done, uint64_t total)>;

class Store {
 public:
  explicit Store(std::filesystem::path root);

  // Load every image in the archive (or only `tag` when given, for FILE.tar:tag).
  // Throws mctr::Error with one clear line on corrupt or hostile input; a failed
  // load leaves no partial layer or image record behind.
  std::vector<Image> load(const std::filesystem::path& archive, const std::optional<std::string>& tag = {},
                          const LoadLimits& limits = {}, const ProgressFn& progress = {});

  // "name[:tag]", "sha256:<hex>", an id prefix, or a path to an archive
  // ("FILE.tar" or "FILE.tar:tag", loaded implicitly).
  Image resolve(const std::string& ref, const ProgressFn& progress = {});
  std::optional<Image> find(const std::string& ref) const;
  std::vector<Image> list() const;
  // Remove the image record (or just one tag of it); layers no longer used by
  // any image are deleted.
  RemoveResult remove(const std::string& ref);
  // `system prune`: delete the layers no image references and no container
  // uses (`in_use`: the dir names, i.e. diffID hexes, of containers' layers) —
  // what a killed or failed load, or an image removed under a container,
  // left — and the temp dirs of loads that died. Returns their diffIDs.
  std::vector<std::string> prune_layers(const std::set<std::string>& in_use);

  const std::filesystem::path& root() const { return root_; }

  // For `build`, `tag` and `save` (images made here rather than loaded):
  // Is the layer with this diffID in the store? Its unpacked size (bytes).
  bool has_layer(const std::string& diff_id) const;
  uint64_t layer_size(const std::string& diff_id) const;
  // Add the layer in the uncompressed tar `tar`, whose sha256 is `diff_id`,
  // unpacked and verified exactly as `load` does it (so a layer built here
  // and the same layer loaded share one directory). Kept if already there.
  void add_layer(const std::filesystem::path& tar, const std::string& diff_id, const LoadLimits& limits = {});
  // Record an image: its config blob (the image ID is its digest) whose
  // rootfs.diff_ids are all in the store. `tags` move here from other
  // images, as with load; tags the image had are kept.
  Image add_image(const std::string& config_json, const std::vector<std::string>& tags);
  // Add `tag` ("name[:tag]") to the image `ref` names (moved from another image).
  Image tag(const std::string& ref, const std::string& tag);
  // The image's whole OCI config as recorded, as compact JSON. (Its digest is
  // the image ID for every image made by build; a loaded config written with
  // other spacing or key order has its own bytes, not kept.)
  std::string config_json(const Image& img) const;

 private:
  Image write_record(const std::string& id, const std::string& config_json, std::vector<std::string> tags);
  struct LayerJob;
  // Unpacks the layer unless it is in the store already; true if it did.
  bool unpack_layer_into_store(const LayerJob& job, BlobReader& reader, const LoadLimits& limits,
                               const ProgressFn& progress);
  // Remove these layers where no image record references them (under the store lock).
  void remove_unreferenced_layers(const std::vector<std::string>& diff_ids);
  Image read_record(const std::filesystem::path& record) const;
  void remove_unused_layers(RemoveResult& result, const std::set<std::string>& in_use = {});
  void clean_stale_tmp();

  std::filesystem::path root_;
};

}  // namespace mctr::image
