#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "image/archive_source.h"
#include "image/digest.h"
#include "image/image_archive.h"
#include "image/layer_unpack.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/parallel.h"
#include "util/paths.h"
#include "util/scope_guard.h"
#include "util/size.h"

namespace mctr::image {

using json = nlohmann::json;
namespace sfs = std::filesystem;

struct Store::LayerJob {
  std::string diff_id;
  std::optional<std::string> blob_digest;
};

// ------------------------------------------------------------------ limits --

LoadLimits LoadLimits::from_env() {
  LoadLimits l;
  if (const char* v = std::getenv("MINICTR_MAX_LAYER_SIZE"); v && *v)
    l.max_unpacked_bytes = static_cast<uint64_t>(parse_bytes(v));
  if (const char* v = std::getenv("MINICTR_MAX_LAYER_ENTRIES"); v && *v)
    l.max_entries = static_cast<uint64_t>(parse_bytes(v));
  return l;
}

// ----------------------------------------------------------------- records --

namespace {

std::vector<std::string> strings_or_empty(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key]) out.push_back(v.get<std::string>());
  return out;
}

std::vector<std::string> keys_or_empty(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_object())
    for (auto it = j[key].begin(); it != j[key].end(); ++it) out.push_back(it.key());
  return out;
}

// The OCI image config's "config" object -> what `run` needs.
ImageConfig parse_run_config(const json& full) {
  ImageConfig c;
  if (!full.contains("config") || !full["config"].is_object()) return c;
  const json& j = full["config"];
  c.env = strings_or_empty(j, "Env");
  c.entrypoint = strings_or_empty(j, "Entrypoint");
  c.cmd = strings_or_empty(j, "Cmd");
  if (j.contains("WorkingDir") && j["WorkingDir"].is_string()) c.working_dir = j["WorkingDir"];
  if (j.contains("User") && j["User"].is_string()) c.user = j["User"];
  c.exposed_ports = keys_or_empty(j, "ExposedPorts");
  c.volumes = keys_or_empty(j, "Volumes");
  if (j.contains("Labels") && j["Labels"].is_object())
    for (auto it = j["Labels"].begin(); it != j["Labels"].end(); ++it)
      if (it.value().is_string()) c.labels[it.key()] = it.value();
  return c;
}

json read_json(const sfs::path& p) {
  try {
    return json::parse(fs::read_file(p));
  } catch (const json::exception& e) {
    throw Error(p.string() + ": corrupt store record: " + e.what());
  }
}

bool exists_nofollow(const sfs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// Layer metadata: written to a temp name and renamed (never torn), but not
// fsync'ed: the one fsync of the image record at the end of a load makes the
// journal commit everything before it (ext4 data=ordered), instead of one
// full flush per layer.
void write_meta(const sfs::path& p, const std::string& data) {
  sfs::path tmp = p;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    UniqueFd fd(check_sys(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", tmp));
    if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
      throw_sys("write", tmp);
  }
  check_sys(::rename(tmp.c_str(), p.c_str()), "rename", p);
}

std::string short_id(const std::string& digest) { return digest.substr(7, 12); }

// The config blob as it came (its digest is the image ID): `save` and `push`
// send these bytes, not a re-encoding of them.
void keep_config(const StorePaths& p, const std::string& id, const std::string& config) {
  if (sha256_digest(config) != id) return;
  fs::mkdir_p(p.blobs() / "sha256", 0700);
  sfs::path target = p.blobs() / "sha256" / digest_hex(id);
  if (!exists_nofollow(target)) fs::write_file_atomic(target, config, 0600);
}

// Blobs that no image (config) and no layer (kept blob) names: what a load
// or pull killed between keeping a blob and writing its layer left.
void remove_orphan_blobs(const StorePaths& p, const std::vector<Image>& images) {
  std::set<std::string> named;
  for (const auto& img : images) named.insert(digest_hex(img.id));
  std::error_code ec;
  for (const auto& e : sfs::directory_iterator(p.layers(), ec)) {
    if (e.path().extension() != ".json") continue;
    json j = json::parse(fs::read_file_if_exists(e.path()).value_or(""), nullptr, false);
    if (j.is_object() && j.contains("blob") && j["blob"].is_object() &&
        is_sha256_digest(j["blob"].value("digest", "")))
      named.insert(digest_hex(j["blob"]["digest"].get<std::string>()));
  }
  for (const auto& e : sfs::directory_iterator(p.blobs() / "sha256", ec)) {
    std::string name = e.path().filename().string();
    if (name.size() == 64 && !named.count(name)) fs::unlink_deferred(e.path());
  }
}

// A blob reader that copies what it reads to a file and hashes it.
class TeeBlobReader : public BlobReader {
 public:
  TeeBlobReader(BlobReader& in, const sfs::path& file)
      : in_(in),
        fd_(check_sys(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", file)),
        file_(file) {}
  size_t read(void* buf, size_t n) override {
    size_t got = in_.read(buf, n);
    if (head_len_ < sizeof head_) {
      size_t take = std::min(got, sizeof head_ - head_len_);
      std::memcpy(head_ + head_len_, buf, take);
      head_len_ += take;
    }
    hash_.update(buf, got);
    const char* p = static_cast<const char*>(buf);
    for (size_t done = 0; done < got;) {
      ssize_t w = ::write(fd_.get(), p + done, got - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_sys("write", file_);
      done += static_cast<size_t>(w);
    }
    return got;
  }
  uint64_t size() const override { return in_.size(); }
  // The digest of everything read; the file is closed.
  std::string finish() {
    fd_.reset();
    return hash_.digest();
  }
  std::string media_type() const { return layer_media_type_of(head_, head_len_); }

 private:
  BlobReader& in_;
  UniqueFd fd_;
  sfs::path file_;
  Sha256 hash_;
  unsigned char head_[4] = {};
  size_t head_len_ = 0;
};

// A whole file as a layer blob.
class FileBlobReader : public BlobReader {
 public:
  explicit FileBlobReader(const sfs::path& p)
      : fd_(check_sys(::open(p.c_str(), O_RDONLY | O_CLOEXEC), "open", p)), path_(p) {
    struct stat st;
    check_sys(::fstat(fd_.get(), &st), "fstat", p);
    size_ = static_cast<uint64_t>(st.st_size);
  }
  size_t read(void* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_.get(), buf, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw_sys("read", path_);
      return static_cast<size_t>(r);
    }
  }
  uint64_t size() const override { return size_; }

 private:
  UniqueFd fd_;
  sfs::path path_;
  uint64_t size_ = 0;
};

// Reads on until another layer of the same load failed: then the unpack stops
// at its next read instead of finishing a layer that will be removed.
class StoppableReader : public BlobReader {
 public:
  StoppableReader(BlobReader& in, const TaskGroup& group) : in_(in), group_(group) {}
  size_t read(void* buf, size_t n) override {
    if (group_.stopped()) throw Error("stopped: another layer failed");
    return in_.read(buf, n);
  }
  uint64_t size() const override { return in_.size(); }

 private:
  BlobReader& in_;
  const TaskGroup& group_;
};

// The layers one load or pull unpacked, added to from its layer threads: a
// failed load or pull removes them again.
class UnpackedLayers {
 public:
  void add(const std::string& diff_id) {
    std::lock_guard lock(mu_);
    diff_ids_.push_back(diff_id);
  }
  // Once the threads are joined.
  const std::vector<std::string>& diff_ids() const { return diff_ids_; }

 private:
  std::mutex mu_;
  std::vector<std::string> diff_ids_;
};

// Copy one blob of a tar out to `file` as it streams past: a layer thread
// unpacks it from there while the pass over the tar goes on.
FetchedLayer spool_blob(BlobReader& reader, const sfs::path& file) {
  TeeBlobReader copy(reader, file);
  std::vector<char> buf(256 << 10);
  while (copy.read(buf.data(), buf.size())) {
  }
  std::string digest = copy.finish();
  return FetchedLayer{file, digest, copy.media_type()};
}

// Name for images tagged only "v1" in an OCI archive: the archive's file name.
std::string default_name_for(const sfs::path& archive) {
  std::string stem = archive.filename().string();
  for (const char* ext : {".tar.gz", ".tgz", ".tar.zst", ".tar", ".oci"})
    if (stem.size() > std::strlen(ext) && stem.ends_with(ext)) {
      stem.resize(stem.size() - std::strlen(ext));
      break;
    }
  std::string out;
  for (char c : stem) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') ? c : '-';
  }
  return out.empty() ? "image" : out;
}

// Does `want` (from FILE.tar:want) name this image? Either a full reference
// ("busybox:1.36") or just the tag ("1.36").
bool tag_matches(const std::vector<std::string>& tags, const std::string& want) {
  for (const auto& t : tags) {
    if (t.substr(t.rfind(':') + 1) == want) return true;
    try {
      if (t == parse_reference(want).str()) return true;
    } catch (const Error&) {
    }
  }
  return false;
}

}  // namespace

std::string layer_media_type_of(const void* head, size_t n) {
  const auto* b = static_cast<const unsigned char*>(head);
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

Store::Store(std::filesystem::path root) : root_(std::move(root)) { make_private_dir(root_); }

Image Store::read_record(const sfs::path& record) const {
  StorePaths p{root_};
  json r = read_json(record);
  Image img;
  try {
    img.id = r.at("id").get<std::string>();
    img.repo_tags = strings_or_empty(r, "repo_tags");
    img.repo_digests = strings_or_empty(r, "repo_digests");
    img.diff_ids = strings_or_empty(r, "diff_ids");
    img.size = r.value("size", uint64_t{0});
    const json& cfg = r.at("config");
    img.config = parse_run_config(cfg);
    img.architecture = cfg.value("architecture", "");
    img.os = cfg.value("os", "");
    img.created =
        cfg.contains("created") && cfg["created"].is_string() ? cfg["created"].get<std::string>() : "";
  } catch (const json::exception& e) {
    throw Error(record.string() + ": corrupt store record: " + e.what());
  }
  for (const auto& d : img.diff_ids) img.layer_dirs.push_back(p.layers() / digest_hex(d));
  return img;
}

std::vector<Image> Store::list() const {
  StorePaths p{root_};
  std::vector<Image> out;
  std::error_code ec;
  for (const auto& e : sfs::directory_iterator(p.images(), ec)) {
    const auto& path = e.path();
    if (path.extension() != ".json" || path.stem().string().size() != 64) continue;
    out.push_back(read_record(path));
  }
  std::sort(out.begin(), out.end(), [](const Image& a, const Image& b) { return a.id < b.id; });
  return out;
}

std::optional<Image> Store::find(const std::string& ref) const {
  std::vector<Image> all = list();
  // 1. A name[:tag].
  try {
    std::string want = parse_reference(ref).str();
    for (const auto& img : all)
      if (std::find(img.repo_tags.begin(), img.repo_tags.end(), want) != img.repo_tags.end()) return img;
  } catch (const Error&) {
  }
  // 2. An id or id prefix, with or without "sha256:".
  std::string hex = ref.starts_with("sha256:") ? ref.substr(7) : ref;
  if (hex.empty() || hex.size() > 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  std::optional<Image> found;
  for (const auto& img : all) {
    if (img.id.compare(7, hex.size(), hex) != 0) continue;
    if (found) throw Error("image id prefix \"" + ref + "\" is ambiguous");
    found = img;
  }
  return found;
}

Image Store::resolve(const std::string& ref, const ProgressFn& progress) {
  if (auto img = find(ref)) return *img;
  // A path to an archive, "FILE.tar" or "FILE.tar:tag": loaded implicitly.
  // Layers already in the store are not unpacked again.
  std::optional<std::string> tag;
  sfs::path file = ref;
  if (!exists_nofollow(file)) {
    size_t colon = ref.rfind(':');
    if (colon != std::string::npos && exists_nofollow(ref.substr(0, colon))) {
      file = ref.substr(0, colon);
      tag = ref.substr(colon + 1);
    } else {
      parse_reference(ref);  // a malformed reference says so ("invalid reference format")
      throw Error("No such image: " + ref +
                  " (load it with `minictr load`, or give the path of an image archive)");
    }
  }
  std::vector<Image> loaded = load(file, tag, LoadLimits::from_env(), progress);
  if (loaded.size() != 1)
    throw Error(file.string() + " holds " + std::to_string(loaded.size()) + " images; pick one with " +
                file.string() + ":TAG");
  return loaded.front();
}

// ------------------------------------------------------------------- load --

void Store::clean_stale_tmp() {
  // tmp/<kind>-<hex>.<pid>: left behind by a load or rmi that was killed.
  StorePaths p{root_};
  std::error_code ec;
  for (const auto& e : sfs::directory_iterator(p.tmp(), ec)) {
    std::string name = e.path().filename().string();
    size_t dot = name.rfind('.');
    if (dot == std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + dot + 1));
    if (pid <= 0 || (::kill(pid, 0) < 0 && errno == ESRCH)) fs::remove_tree(e.path());
  }
}

bool Store::unpack_layer_into_store(const LayerJob& job, BlobReader& reader, const LoadLimits& limits,
                                    const ProgressFn& progress, const FetchedLayer* keep) {
  StorePaths p{root_};
  std::string hex = digest_hex(job.diff_id);
  sfs::path final_dir = p.layers() / hex;
  if (exists_nofollow(final_dir)) return false;
  // One unpack of a layer at a time; a second load of the same layer waits
  // here and then finds it done.
  FileLock lock(p.locks() / ("layer-" + hex + ".lock"));
  if (exists_nofollow(final_dir)) return false;

  sfs::path tmp = p.tmp() / ("layer-" + hex + "." + std::to_string(::getpid()));
  fs::remove_tree(tmp);
  check_sys(::mkdir(tmp.c_str(), 0755), "mkdir", tmp);
  ScopeGuard remove_tmp([&] { fs::remove_tree(tmp); });
  // A blob read from an archive is copied aside while it streams past.
  sfs::path tee_file = p.tmp() / ("blob-" + hex + "." + std::to_string(::getpid()));
  std::optional<TeeBlobReader> tee;
  if (keep && keep->file.empty()) tee.emplace(reader, tee_file);
  ScopeGuard remove_tee([&] { ::unlink(tee_file.c_str()); });

  LayerExpect expect{job.blob_digest, job.diff_id};
  LayerStats stats;
  try {
    stats = unpack_layer(tee ? *tee : reader, tmp, expect, limits, [&](uint64_t done) {
      if (progress) progress(job.diff_id, done, reader.size());
    });
  } catch (const Error& e) {
    throw Error("layer " + short_id(job.diff_id) + ": " + e.what(), e.exit_code());
  }
  json meta = {{"diff_id", job.diff_id}, {"size", stats.bytes}, {"entries", stats.entries}};
  if (keep) {
    const sfs::path& file = tee ? tee_file : keep->file;
    std::string digest = tee ? tee->finish() : keep->digest;
    struct stat st;
    check_sys(::stat(file.c_str(), &st), "stat", file);
    meta["blob"] = {{"digest", digest},
                    {"mediaType", tee ? tee->media_type() : keep->media_type},
                    {"size", static_cast<uint64_t>(st.st_size)}};
    // The meta names the blob before it is in blobs/: a `system prune`
    // meanwhile (remove_orphan_blobs) sees it named and leaves it.
    write_meta(p.layers() / (hex + ".json"), meta.dump() + "\n");
    keep_blob(file, digest, meta["blob"]["mediaType"]);
  } else {
    write_meta(p.layers() / (hex + ".json"), meta.dump() + "\n");
  }
  // The layer appears complete or not at all.
  check_sys(::rename(tmp.c_str(), final_dir.c_str()), "rename", final_dir);
  remove_tmp.dismiss();
  return true;
}

bool Store::unpack_layer_task(const LayerJob& job, BlobReader& reader, const LoadLimits& limits,
                              const ProgressFn& progress, const FetchedLayer& keep, const TaskGroup& group) {
  StoppableReader stoppable(reader, group);
  return unpack_layer_into_store(job, stoppable, limits, progress, &keep);
}

KeptBlob Store::keep_blob(const sfs::path& file, const std::string& digest, const std::string& media_type) {
  StorePaths p{root_};
  fs::mkdir_p(p.blobs() / "sha256", 0700);
  sfs::path target = p.blobs() / "sha256" / digest_hex(digest);
  if (exists_nofollow(target))
    ::unlink(file.c_str());
  else
    check_sys(::rename(file.c_str(), target.c_str()), "rename", target);
  struct stat st;
  check_sys(::stat(target.c_str(), &st), "stat", target);
  return KeptBlob{digest, media_type, static_cast<uint64_t>(st.st_size), target};
}

void Store::remove_layer_files(const std::string& hex) {
  StorePaths p{root_};
  sfs::path meta = p.layers() / (hex + ".json");
  if (auto text = fs::read_file_if_exists(meta)) {
    json j = json::parse(*text, nullptr, false);
    if (j.is_object() && j.contains("blob") && j["blob"].contains("digest") &&
        is_sha256_digest(j["blob"].value("digest", "")))
      fs::unlink_deferred(p.blobs() / "sha256" / digest_hex(j["blob"]["digest"].get<std::string>()));
  }
  fs::remove_tree(p.layers() / hex);
  fs::unlink_deferred(meta);
}

std::optional<KeptBlob> Store::layer_blob(const std::string& diff_id) const {
  StorePaths p{root_};
  auto text = fs::read_file_if_exists(p.layers() / (digest_hex(diff_id) + ".json"));
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("blob") || !j["blob"].is_object()) return std::nullopt;
  KeptBlob b;
  b.digest = j["blob"].value("digest", "");
  b.media_type = j["blob"].value("mediaType", "");
  b.size = j["blob"].value("size", uint64_t{0});
  if (!is_sha256_digest(b.digest)) return std::nullopt;
  b.path = p.blobs() / "sha256" / digest_hex(b.digest);
  if (!exists_nofollow(b.path)) return std::nullopt;
  return b;
}

void Store::remove_unreferenced_layers(const std::vector<std::string>& diff_ids) {
  StorePaths p{root_};
  FileLock lock(p.locks() / "store.lock");
  std::set<std::string> referenced;
  for (const Image& img : list())
    for (const auto& d : img.diff_ids) referenced.insert(d);
  for (const auto& d : diff_ids)
    if (!referenced.count(d)) remove_layer_files(digest_hex(d));
}

std::vector<Image> Store::load(const sfs::path& archive, const std::optional<std::string>& tag,
                               const LoadLimits& limits, const ProgressFn& progress) {
  StorePaths p{root_};
  // The kernel resolves the overlay's lower dirs as root when a container
  // mounts them: no other user needs to pass through layers/, and a layer's
  // setuid binaries and device nodes must stay out of their reach.
  make_private_dir(p.layers());
  for (const auto& d : {p.images(), p.tmp(), p.locks()}) fs::mkdir_p(d, 0700);
  clean_stale_tmp();

  ArchiveSource src(archive);
  std::vector<ArchivedImage> archived = list_archived_images(src, default_name_for(archive));
  if (archived.empty()) throw Error(archive.string() + ": the archive holds no image");
  if (tag) {
    std::erase_if(archived, [&](const ArchivedImage& a) { return !tag_matches(a.tags, *tag); });
    if (archived.empty()) throw Error(archive.string() + ": no image tagged \"" + *tag + "\" in the archive");
  }
  read_image_configs(src, archived, limits.max_layers);

  // Layers not in the store yet, by the archive file that holds them.
  std::map<std::string, LayerJob> jobs;
  for (const auto& img : archived) {
    for (const auto& l : img.layers) {
      if (exists_nofollow(p.layers() / digest_hex(l.diff_id))) continue;
      std::string name = src.canonical_name(l.name);
      if (name.empty())
        throw Error(archive.string() + ": layer blob " + l.name + " is missing from the archive");
      auto [it, inserted] = jobs.emplace(name, LayerJob{l.diff_id, l.digest});
      if (!inserted && it->second.diff_id != l.diff_id)
        throw Error(archive.string() + ": blob " + l.name + " is given two different diffIDs");
    }
  }
  std::set<std::string> wanted;
  for (const auto& [name, job] : jobs) wanted.insert(name);
  // A load that fails (a full disk, a bad blob after good ones) takes the
  // layers it unpacked with it, unless an image uses them by then: nothing
  // else would ever reference them.
  UnpackedLayers unpacked;
  ScopeGuard remove_unpacked([&] { remove_unreferenced_layers(unpacked.diff_ids()); });
  const FetchedLayer tee_it;  // no file: the blob is copied while it is read
  // Each layer is a directory of its own: layers unpack in parallel, one per
  // CPU. A task uses only what it owns and what is declared above the group:
  // however load() leaves (a layer's error from run() or wait(), a bad tar
  // from stream()), the group has joined every task before any of that goes.
  TaskGroup group(online_cpus());
  std::set<std::string> seen;
  if (src.is_dir()) {
    // Every blob is a file of its own: each thread reads its own, and copies
    // it into blobs/ while it is read.
    for (const auto& name : wanted) {
      group.run([&, name, job = jobs.at(name)] {
        if (unpack_layer_task(job, *src.open_file(name), limits, progress, tee_it, group))
          unpacked.add(job.diff_id);
      });
      seen.insert(name);
    }
  } else {
    // A tar is read in one pass: each blob is copied out to the file that
    // blobs/ keeps, then unpacked from there while the pass goes on. Files
    // are numbered: two blobs of one layer (gzip and zstd) need two.
    size_t spooled_count = 0;
    std::string pid = std::to_string(::getpid());
    seen = src.stream(wanted, [&](const std::string& name, BlobReader& reader) {
      sfs::path file = p.tmp() / ("spool-" + std::to_string(spooled_count++) + "." + pid);
      ScopeGuard remove_file([&] { ::unlink(file.c_str()); });  // the task did not start
      FetchedLayer spooled = spool_blob(reader, file);
      group.run([&, job = jobs.at(name), spooled] {
        ScopeGuard remove_spooled([&] { ::unlink(spooled.file.c_str()); });  // kept blobs were moved
        FileBlobReader from_file(spooled.file);
        if (unpack_layer_task(job, from_file, limits, progress, spooled, group)) unpacked.add(job.diff_id);
      });
      remove_file.dismiss();
    });
  }
  group.wait();
  for (const auto& name : wanted)
    if (!seen.count(name))
      throw Error(archive.string() + ": layer blob " + name + " is missing from the archive");

  // Records: written under the store lock, each atomically.
  std::vector<Image> images;
  {
    FileLock lock(p.locks() / "store.lock");
    for (const auto& a : archived) {
      sfs::path record = p.images() / (digest_hex(a.id) + ".json");
      std::vector<std::string> tags = a.tags;
      if (exists_nofollow(record))
        for (const auto& t : read_record(record).repo_tags)
          if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
      json rec;
      rec["id"] = a.id;
      rec["repo_tags"] = tags;
      uint64_t size = 0;
      json diff_ids = json::array();
      for (const auto& l : a.layers) {
        sfs::path dir = p.layers() / digest_hex(l.diff_id);
        if (!exists_nofollow(dir))
          throw Error("layer " + short_id(l.diff_id) +
                      " was removed while loading (a concurrent rmi?); load again");
        size += read_json(p.layers() / (digest_hex(l.diff_id) + ".json")).value("size", uint64_t{0});
        diff_ids.push_back(l.diff_id);
      }
      rec["diff_ids"] = diff_ids;
      rec["size"] = size;
      rec["config"] = json::parse(a.config_json);
      // Tags move to the newest image.
      for (const auto& other : list()) {
        if (other.id == a.id) continue;
        std::vector<std::string> kept;
        for (const auto& t : other.repo_tags)
          if (std::find(tags.begin(), tags.end(), t) == tags.end()) kept.push_back(t);
        if (kept.size() == other.repo_tags.size()) continue;
        json orec = read_json(p.images() / (digest_hex(other.id) + ".json"));
        orec["repo_tags"] = kept;
        fs::write_file_atomic(p.images() / (digest_hex(other.id) + ".json"), orec.dump(2) + "\n");
      }
      keep_config(p, a.id, a.config_json);
      fs::write_file_atomic(record, rec.dump(2) + "\n", 0600);
      images.push_back(read_record(record));
    }
  }
  remove_unpacked.dismiss();  // every layer is referenced now
  return images;
}

// ----------------------------------------------------------------- remove --

void Store::remove_unused_layers(RemoveResult& result, const std::set<std::string>& in_use) {
  StorePaths p{root_};
  std::set<std::string> used = in_use;
  for (const auto& img : list())
    for (const auto& d : img.diff_ids) used.insert(digest_hex(d));
  std::error_code ec;
  std::vector<std::string> unused;
  for (const auto& e : sfs::directory_iterator(p.layers(), ec)) {
    std::string name = e.path().filename().string();
    if (name.size() == 64 && e.is_directory() && !used.count(name)) unused.push_back(name);
  }
  for (const auto& hex : unused) {
    // Move it out of sight first: a half-deleted layer is never visible.
    sfs::path doomed = p.tmp() / ("rm-" + hex + "." + std::to_string(::getpid()));
    fs::mkdir_p(p.tmp(), 0700);
    check_sys(::rename((p.layers() / hex).c_str(), doomed.c_str()), "rename", p.layers() / hex);
    remove_layer_files(hex);  // its meta and kept blob
    fs::remove_tree(doomed);
    result.deleted.push_back("sha256:" + hex);
  }
}

std::vector<std::string> Store::prune_layers(const std::set<std::string>& in_use) {
  StorePaths p{root_};
  FileLock lock(p.locks() / "store.lock");
  clean_stale_tmp();
  RemoveResult result;
  remove_unused_layers(result, in_use);
  remove_orphan_blobs(p, list());
  return result.deleted;
}

RemoveResult Store::remove(const std::string& ref, const std::set<std::string>& in_use) {
  StorePaths p{root_};
  FileLock lock(p.locks() / "store.lock");
  std::optional<Image> img = find(ref);
  if (!img) throw Error("No such image: " + ref);
  sfs::path record = p.images() / (digest_hex(img->id) + ".json");
  RemoveResult result;
  std::string as_tag;
  try {
    as_tag = parse_reference(ref).str();
  } catch (const Error&) {
  }
  bool by_tag = std::find(img->repo_tags.begin(), img->repo_tags.end(), as_tag) != img->repo_tags.end();
  if (by_tag && img->repo_tags.size() > 1) {
    // One of several tags: only the tag goes.
    json rec = read_json(record);
    std::erase(img->repo_tags, as_tag);
    rec["repo_tags"] = img->repo_tags;
    fs::write_file_atomic(record, rec.dump(2) + "\n", 0600);
    result.untagged.push_back(as_tag);
    return result;
  }
  result.untagged = img->repo_tags;
  check_sys(::unlink(record.c_str()), "unlink", record);
  fs::unlink_deferred(p.blobs() / "sha256" / digest_hex(img->id));  // its config
  result.deleted.push_back(img->id);
  remove_unused_layers(result, in_use);
  return result;
}

}  // namespace mctr::image

// ------------------------------------------------------ build, tag, save --

namespace mctr::image {

bool Store::has_layer(const std::string& diff_id) const {
  return exists_nofollow(StorePaths{root_}.layers() / digest_hex(diff_id));
}

uint64_t Store::layer_size(const std::string& diff_id) const {
  return read_json(StorePaths{root_}.layers() / (digest_hex(diff_id) + ".json")).value("size", uint64_t{0});
}

void Store::add_layer(const sfs::path& tar, const std::string& diff_id, const LoadLimits& limits,
                      bool keep_blob) {
  StorePaths p{root_};
  make_private_dir(p.layers());
  for (const auto& d : {p.images(), p.tmp(), p.locks()}) fs::mkdir_p(d, 0700);
  FileBlobReader reader(tar);
  const FetchedLayer kept{tar, diff_id, "application/vnd.oci.image.layer.v1.tar"};
  unpack_layer_into_store(LayerJob{diff_id, std::nullopt}, reader, limits, {}, keep_blob ? &kept : nullptr);
}

Image Store::write_record(const std::string& id, const std::string& config_json,
                          std::vector<std::string> tags) {
  StorePaths p{root_};
  json cfg = json::parse(config_json);
  sfs::path record = p.images() / (digest_hex(id) + ".json");
  std::vector<std::string> repo_digests;
  if (exists_nofollow(record)) {
    Image old = read_record(record);
    for (const auto& t : old.repo_tags)
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    repo_digests = old.repo_digests;
  }
  uint64_t size = 0;
  json diff_ids = json::array();
  for (const auto& d : strings_or_empty(cfg.at("rootfs"), "diff_ids")) {
    if (!has_layer(d)) throw Error("layer " + short_id(d) + " is not in the store");
    size += read_json(p.layers() / (digest_hex(d) + ".json")).value("size", uint64_t{0});
    diff_ids.push_back(d);
  }
  json rec;
  rec["id"] = id;
  rec["repo_tags"] = tags;
  rec["diff_ids"] = diff_ids;
  rec["size"] = size;
  rec["config"] = cfg;
  if (!repo_digests.empty()) rec["repo_digests"] = repo_digests;
  for (const auto& other : list()) {  // tags move to this image
    if (other.id == id) continue;
    std::vector<std::string> kept;
    for (const auto& t : other.repo_tags)
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) kept.push_back(t);
    if (kept.size() == other.repo_tags.size()) continue;
    json orec = read_json(p.images() / (digest_hex(other.id) + ".json"));
    orec["repo_tags"] = kept;
    fs::write_file_atomic(p.images() / (digest_hex(other.id) + ".json"), orec.dump(2) + "\n");
  }
  keep_config(p, id, config_json);
  fs::write_file_atomic(record, rec.dump(2) + "\n", 0600);
  return read_record(record);
}

Image Store::add_image(const std::string& config_json, const std::vector<std::string>& tags) {
  StorePaths p{root_};
  for (const auto& d : {p.images(), p.locks()}) fs::mkdir_p(d, 0700);
  std::vector<std::string> normalized;
  for (const auto& t : tags) normalized.push_back(parse_reference(t).str());
  FileLock lock(p.locks() / "store.lock");
  return write_record(sha256_digest(config_json), config_json, normalized);
}

Image Store::tag(const std::string& ref, const std::string& new_tag) {
  StorePaths p{root_};
  std::string t = parse_reference(new_tag).str();
  FileLock lock(p.locks() / "store.lock");
  std::optional<Image> img = find(ref);
  if (!img) throw Error("No such image: " + ref);
  return write_record(img->id, config_json(*img), {t});
}

void Store::add_repo_digest(const std::string& id, const std::string& repo_digest) {
  StorePaths p{root_};
  FileLock lock(p.locks() / "store.lock");
  sfs::path record = p.images() / (digest_hex(id) + ".json");
  json rec = read_json(record);
  std::vector<std::string> digests = strings_or_empty(rec, "repo_digests");
  if (std::find(digests.begin(), digests.end(), repo_digest) != digests.end()) return;
  digests.push_back(repo_digest);
  rec["repo_digests"] = digests;
  fs::write_file_atomic(record, rec.dump(2) + "\n", 0600);
}

Image Store::add_fetched_image(const std::string& config_json, const std::vector<FetchedLayer>& layers,
                               const std::vector<std::string>& tags, const LoadLimits& limits,
                               const ProgressFn& progress) {
  StorePaths p{root_};
  make_private_dir(p.layers());
  for (const auto& d : {p.images(), p.tmp(), p.locks()}) fs::mkdir_p(d, 0700);
  json cfg = json::parse(config_json, nullptr, false);
  if (!cfg.is_object() || !cfg.contains("rootfs") || !cfg["rootfs"].is_object())
    throw Error("the image config is not an OCI image config (no rootfs)");
  std::vector<std::string> diff_ids = strings_or_empty(cfg["rootfs"], "diff_ids");
  if (diff_ids.size() != layers.size())
    throw Error("the manifest lists " + std::to_string(layers.size()) + " layers, the image config " +
                std::to_string(diff_ids.size()));
  if (layers.size() > limits.max_layers)
    throw Error("the image has " + std::to_string(layers.size()) + " layers, more than " +
                std::to_string(limits.max_layers));
  std::vector<std::string> normalized;
  for (const auto& t : tags) normalized.push_back(parse_reference(t).str());

  UnpackedLayers unpacked;
  ScopeGuard remove_unpacked([&] { remove_unreferenced_layers(unpacked.diff_ids()); });
  // A layer listed twice is unpacked once: both entries may name one file,
  // which the first task moves into blobs/. The caller removes the other's.
  std::set<std::string> started;
  TaskGroup group(online_cpus());  // as load: one layer per CPU, declared after what the tasks use
  for (size_t i = 0; i < layers.size(); ++i) {
    const FetchedLayer& l = layers[i];
    if (!is_sha256_digest(diff_ids[i]))
      throw Error("invalid diffID \"" + diff_ids[i] + "\" in the image config");
    if (has_layer(diff_ids[i])) {  // not fetched ("Already exists"), or by a pull beside us
      if (!l.file.empty()) ::unlink(l.file.c_str());
      continue;
    }
    if (!started.insert(diff_ids[i]).second) continue;
    group.run([&, i] {
      FileBlobReader file(layers[i].file);
      if (unpack_layer_task(LayerJob{diff_ids[i], layers[i].digest}, file, limits, progress, layers[i],
                            group))
        unpacked.add(diff_ids[i]);
    });
  }
  group.wait();
  Image img;
  {
    FileLock lock(p.locks() / "store.lock");
    img = write_record(sha256_digest(config_json), config_json, normalized);
  }
  remove_unpacked.dismiss();
  return img;
}

std::string Store::config_json(const Image& img) const {
  StorePaths p{root_};
  if (auto kept = fs::read_file_if_exists(p.blobs() / "sha256" / digest_hex(img.id)))
    if (sha256_digest(*kept) == img.id) return *kept;
  return read_json(StorePaths{root_}.images() / (digest_hex(img.id) + ".json")).at("config").dump();
}

}  // namespace mctr::image
