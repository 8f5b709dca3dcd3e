#include "build/save_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "build/decompress.h"
#include "build/layer_tar.h"
#include "image/digest.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::build {

namespace sfs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar";

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// The outer tar: files only, sorted by the caller, fixed metadata.
class OuterTar {
 public:
  explicit OuterTar(const sfs::path& out) : out_(out), a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_.get());
    if (archive_write_open_filename(a_.get(), out.c_str()) != ARCHIVE_OK) fail("open");
  }
  void add_bytes(const std::string& name, const std::string& data) {
    header(name, data.size());
    if (archive_write_data(a_.get(), data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
      fail(name);
  }
  void add_file(const std::string& name, const sfs::path& src) {
    UniqueFd fd(check_sys(::open(src.c_str(), O_RDONLY | O_CLOEXEC), "open", src));
    struct stat st;
    check_sys(::fstat(fd.get(), &st), "fstat", src);
    header(name, static_cast<uint64_t>(st.st_size));
    std::vector<char> buf(256 << 10);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_sys("read", src);
      if (n == 0) break;
      if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(n)) != n) fail(name);
    }
  }
  void close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("close");
  }

 private:
  void header(const std::string& name, uint64_t size) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail(name);
  }
  [[noreturn]] void fail(const std::string& what) {
    const char* m = archive_error_string(a_.get());
    throw Error("save: " + out_.string() + ": " + what + ": " + (m ? m : "write failed"));
  }
  sfs::path out_;
  std::unique_ptr<archive, WriteFree> a_;
};

struct SavedLayer {
  sfs::path tar;
  std::string diff_id;
  uint64_t size = 0;
};

struct SavedImage {
  std::string config;  // bytes
  std::string id;
  std::vector<std::string> tags;
  std::vector<SavedLayer> layers;
};

// The layer's tar: its kept blob when the store has it (as loaded or
// pulled: the very bytes of its diffID, decompressed if it came
// compressed), else written again from the layer dir (build's layers, which
// layer_tar.h gives back byte for byte).
SavedLayer layer_tar_of(const image::Store& store, const std::string& diff_id, const sfs::path& dir,
                        const sfs::path& work) {
  SavedLayer l;
  l.tar = work / (image::digest_hex(diff_id) + ".tar");
  if (auto kept = store.layer_blob(diff_id)) {
    if (kept->digest == diff_id) {
      l.tar = kept->path;  // an uncompressed blob is the tar itself
      l.diff_id = diff_id;
    } else {
      l.diff_id = decompress_to(kept->path, l.tar, "save");
    }
    if (l.diff_id == diff_id) {
      l.size = sfs::file_size(l.tar);
      return l;
    }
  }
  LayerTar tar;
  tar.add_tree(dir, "");
  l.tar = work / (image::digest_hex(diff_id) + ".tar");
  l.diff_id = tar.write(l.tar, 0);
  l.size = sfs::file_size(l.tar);
  return l;
}

}  // namespace

void save_images(image::Store& store, const std::vector<std::string>& refs, const sfs::path& out,
                 SaveFormat format, std::ostream& warnings) {
  StorePaths p{store.root()};
  sfs::path work = p.tmp() / ("save." + std::to_string(::getpid()));  // removed by the store if we die
  fs::remove_tree(work);
  fs::mkdir_p(work, 0700);
  ScopeGuard clean([&] { fs::remove_tree(work); });

  // Each layer's tar once, even when several images share it.
  std::map<std::string, SavedLayer> by_diff_id;
  std::vector<SavedImage> images;
  for (const auto& ref : refs) {
    auto img = store.find(ref);
    if (!img) throw Error("No such image: " + ref);
    SavedImage s;
    json cfg = json::parse(store.config_json(*img));
    bool changed = false;
    for (size_t i = 0; i < img->diff_ids.size(); ++i) {
      const std::string& d = img->diff_ids[i];
      auto it = by_diff_id.find(d);
      if (it == by_diff_id.end())
        it = by_diff_id.emplace(d, layer_tar_of(store, d, img->layer_dirs[i], work)).first;
      if (it->second.diff_id != d) {
        warnings << "save: layer " << d.substr(7, 12) << " of " << ref
                 << " was not packed by minictr; it is saved repacked as " << it->second.diff_id.substr(7, 12)
                 << "\n";
        cfg["rootfs"]["diff_ids"][i] = it->second.diff_id;
        changed = true;
      }
      s.layers.push_back(it->second);
    }
    s.config = changed ? cfg.dump() : store.config_json(*img);  // the bytes the image ID is the digest of
    s.id = image::sha256_digest(s.config);
    if (s.id != img->id && !changed)
      warnings << "save: the config of " << ref << " is saved re-encoded: its ID becomes "
               << s.id.substr(7, 12) << "\n";
    s.tags = img->repo_tags;
    images.push_back(std::move(s));
  }

  sfs::path tmp_out = out;
  tmp_out += ".tmp";
  ScopeGuard remove_tmp([&] { ::unlink(tmp_out.c_str()); });
  OuterTar tar(tmp_out);
  if (format == SaveFormat::kDocker) {
    json manifest = json::array();
    std::map<std::string, std::string> files;  // name -> path (sorted)
    for (const auto& s : images) {
      json m;
      m["Config"] = image::digest_hex(s.id) + ".json";
      m["RepoTags"] = s.tags;
      json layers = json::array();
      for (const auto& l : s.layers) layers.push_back(image::digest_hex(l.diff_id) + "/layer.tar");
      m["Layers"] = layers;
      manifest.push_back(m);
    }
    std::map<std::string, std::string> small;
    for (const auto& s : images) small[image::digest_hex(s.id) + ".json"] = s.config;
    for (const auto& s : images)
      for (const auto& l : s.layers) files[image::digest_hex(l.diff_id) + "/layer.tar"] = l.tar;
    small["manifest.json"] = manifest.dump();
    for (const auto& [name, data] : small) tar.add_bytes(name, data);
    for (const auto& [name, path] : files) tar.add_file(name, path);
  } else {
    std::map<std::string, std::string> blobs;  // digest hex -> bytes
    std::map<std::string, sfs::path> layer_blobs;
    json index = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}};
    index["manifests"] = json::array();
    for (const auto& s : images) {
      json m = {{"schemaVersion", 2}, {"mediaType", kManifestType}};
      m["config"] = {{"mediaType", kConfigType}, {"digest", s.id}, {"size", s.config.size()}};
      m["layers"] = json::array();
      for (const auto& l : s.layers) {
        m["layers"].push_back({{"mediaType", kLayerType}, {"digest", l.diff_id}, {"size", l.size}});
        layer_blobs[image::digest_hex(l.diff_id)] = l.tar;
      }
      std::string mtext = m.dump();
      std::string mdigest = image::sha256_digest(mtext);
      blobs[image::digest_hex(s.id)] = s.config;
      blobs[image::digest_hex(mdigest)] = mtext;
      std::vector<std::string> tags = s.tags;
      if (tags.empty()) tags.push_back("");
      for (const auto& t : tags) {
        json d = {{"mediaType", kManifestType}, {"digest", mdigest}, {"size", mtext.size()}};
        if (!t.empty())
          d["annotations"] = {{"io.containerd.image.name", t},
                              {"org.opencontainers.image.ref.name", t.substr(t.rfind(':') + 1)}};
        index["manifests"].push_back(d);
      }
    }
    for (const auto& [hex, data] : blobs) tar.add_bytes("blobs/sha256/" + hex, data);
    for (const auto& [hex, path] : layer_blobs)
      if (!blobs.count(hex)) tar.add_file("blobs/sha256/" + hex, path);
    tar.add_bytes("index.json", index.dump());
    tar.add_bytes("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  }
  tar.close();
  check_sys(::rename(tmp_out.c_str(), out.c_str()), "rename", out);
  remove_tmp.dismiss();
}

}  // namespace mctr::build
