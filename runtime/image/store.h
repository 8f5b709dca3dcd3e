// The image store: loads OCI / docker-save archives into verified content
// under <root>/, and resolves image references for `run`.
//
// Layout (owned by this module):
//   <root>/layers/<diffid-hex>/        one unpacked layer, shared between images
//   <root>/layers/<diffid-hex>.json    its size and entry count (and its kept blob)
//   <root>/blobs/sha256/<hex>          blobs kept as they came in: image configs (the
//                                      image ID is their digest) and layer blobs, so
//                                      save and push give back the very bytes whose
//                                      digests the config and manifests name
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

namespace mctr {
class TaskGroup;  // util/parallel.h
}

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
  std::vector<std::string> repo_digests;          // "localhost:5000/a@sha256:<manifest hex>"
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

// A layer's blob as it came in (compressed or not), kept in the store.
struct KeptBlob {
  std::string digest;      // "sha256:<hex>" of the blob
  std::string media_type;  // OCI layer type: ...layer.v1.tar, +gzip, +zstd
  uint64_t size = 0;
  std::filesystem::path path;
};

// A layer blob that `pull` downloaded (its digest verified) to be stored.
struct FetchedLayer {
  std::filesystem::path file;
  std::string digest;      // of the blob
  std::string media_type;  // as KeptBlob
};

// The OCI layer media type of a blob, from its first bytes (gzip, zstd or a tar).
std::string layer_media_type_of(const void* head, size_t n);

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
  // any image are deleted, except those in `in_use` (diffID hexes of layers
  // containers use: `rmi -f` of an image a stopped container was made from).
  RemoveResult remove(const std::string& ref, const std::set<std::string>& in_use = {});
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
  // `keep_blob`: the tar is moved into blobs/ as the layer's blob (import).
  void add_layer(const std::filesystem::path& tar, const std::string& diff_id, const LoadLimits& limits = {},
                 bool keep_blob = false);
  // Record an image: its config blob (the image ID is its digest) whose
  // rootfs.diff_ids are all in the store. `tags` move here from other
  // images, as with load; tags the image had are kept.
  Image add_image(const std::string& config_json, const std::vector<std::string>& tags);
  // Add `tag` ("name[:tag]") to the image `ref` names (moved from another image).
  Image tag(const std::string& ref, const std::string& tag);
  // Record that the manifest `repo_digest` ("registry/name@sha256:...") a pull
  // fetched or a push stored describes image `id` (inspect's RepoDigests).
  void add_repo_digest(const std::string& id, const std::string& repo_digest);
  // The image's whole OCI config as recorded, as compact JSON. (Its digest is
  // the image ID for every image made by build; a loaded config written with
  // other spacing or key order has its own bytes, not kept.)
  std::string config_json(const Image& img) const;

  // For `pull`: store an image whose config and layer blobs were fetched to
  // files (blob digests verified while they were written). Layers are
  // unpacked as `load` does, the blobs kept; a failure leaves no layer that
  // no image references. `config_json` is the verified config blob.
  Image add_fetched_image(const std::string& config_json, const std::vector<FetchedLayer>& layers,
                          const std::vector<std::string>& tags, const LoadLimits& limits = {},
                          const ProgressFn& progress = {});
  // The blob the layer came in, when the store kept it (loaded or pulled).
  std::optional<KeptBlob> layer_blob(const std::string& diff_id) const;

 private:
  Image write_record(const std::string& id, const std::string& config_json, std::vector<std::string> tags);
  struct LayerJob;
  // Unpacks the layer unless it is in the store already; true if it did.
  // `keep`: a file holding the blob (or "" to tee it while it is read) is
  // kept in blobs/; nullptr keeps nothing.
  bool unpack_layer_into_store(const LayerJob& job, BlobReader& reader, const LoadLimits& limits,
                               const ProgressFn& progress, const FetchedLayer* keep = nullptr);
  // The same as a task of a load's or pull's `group`: it stops at its next
  // read once another layer failed.
  bool unpack_layer_task(const LayerJob& job, BlobReader& reader, const LoadLimits& limits,
                         const ProgressFn& progress, const FetchedLayer& keep, const TaskGroup& group);
  // Move a verified blob file into blobs/ (kept if there already).
  KeptBlob keep_blob(const std::filesystem::path& file, const std::string& digest,
                     const std::string& media_type);
  void remove_layer_files(const std::string& hex);  // layer dir, its meta, its kept blob
  // Remove these layers where no image record references them (under the store lock).
  void remove_unreferenced_layers(const std::vector<std::string>& diff_ids);
  Image read_record(const std::filesystem::path& record) const;
  void remove_unused_layers(RemoveResult& result, const std::set<std::string>& in_use = {});
  void clean_stale_tmp();

  std::filesystem::path root_;
};

}  // namespace mctr::image
