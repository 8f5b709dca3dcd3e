#include "archive_builder.h"

#include <fstream>
#include <stdexcept>

namespace mctr::image::test {

using json = nlohmann::json;

namespace {

la_ssize_t append_cb(archive*, void* ud, const void* buf, size_t n) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

void check(archive* a, int r) {
  if (r < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
}

}  // namespace

std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open(a, &out, nullptr, append_cb, nullptr));
  for (const auto& te : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, te.name.c_str());
    archive_entry_set_uid(e, te.uid);
    archive_entry_set_gid(e, te.gid);
    archive_entry_set_mtime(e, te.mtime, 0);
    for (const auto& [k, v] : te.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    if (!te.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, te.perm);
      archive_entry_set_hardlink(e, te.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, te.type);
      archive_entry_set_perm(e, te.perm);
      if (te.type == AE_IFLNK) archive_entry_set_symlink(e, te.link.c_str());
      if (te.type == AE_IFREG)
        archive_entry_set_size(
            e, te.declared_size >= 0 ? te.declared_size : static_cast<int64_t>(te.content.size()));
    }
    check(a, archive_write_header(a, e));
    if (te.type == AE_IFREG && te.hardlink.empty() && !te.content.empty())
      archive_write_data(a, te.content.data(), te.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string compress(const std::string& data, Compression c) {
  if (c == Compression::none) return data;
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  if (c == Compression::gzip) archive_write_add_filter_gzip(a);
  if (c == Compression::zstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open(a, &out, nullptr, append_cb, nullptr));
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<int64_t>(data.size()));
  check(a, archive_write_header(a, e));
  for (size_t off = 0; off < data.size(); off += 1 << 20)
    archive_write_data(a, data.data() + off, std::min<size_t>(1 << 20, data.size() - off));
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Layer make_layer(const std::vector<TarEntry>& entries, Compression c) {
  std::string tar = make_tar(entries);
  Layer l;
  l.diff_id = sha256_digest(tar);
  l.blob = compress(tar, c);
  l.digest = sha256_digest(l.blob);
  l.media_type = c == Compression::gzip   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                 : c == Compression::zstd ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                          : "application/vnd.oci.image.layer.v1.tar";
  return l;
}

std::string config_json(const ImageSpec& img) {
  json ids = json::array();
  if (img.diff_ids)
    ids = *img.diff_ids;
  else
    for (const auto& l : img.layers) ids.push_back(l.diff_id);
  json cfg = {{"architecture", "amd64"},
              {"os", "linux"},
              {"created", "2024-01-02T03:04:05Z"},
              {"config", img.config},
              {"rootfs", {{"type", "layers"}, {"diff_ids", ids}}}};
  return cfg.dump();
}

std::string outer_tar(const std::map<std::string, std::string>& files) {
  std::vector<TarEntry> entries;
  for (const auto& [name, content] : files) entries.push_back(file(name, content));
  return make_tar(entries);
}

std::string oci_archive(const std::vector<ImageSpec>& images) {
  std::map<std::string, std::string> files;
  json manifests = json::array();
  for (const auto& img : images) {
    std::string cfg = config_json(img);
    std::string cfg_digest = sha256_digest(cfg);
    files["blobs/sha256/" + cfg_digest.substr(7)] = cfg;
    json layers = json::array();
    for (const auto& l : img.layers) {
      files["blobs/sha256/" + l.digest.substr(7)] = l.blob;
      layers.push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.blob.size()}});
    }
    json m = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config",
               {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                {"digest", cfg_digest},
                {"size", cfg.size()}}},
              {"layers", layers}};
    std::string mtext = m.dump();
    std::string mdigest = sha256_digest(mtext);
    files["blobs/sha256/" + mdigest.substr(7)] = mtext;
    std::vector<std::string> tags = img.tags;
    if (tags.empty()) tags.push_back("");
    for (const auto& t : tags) {
      json d = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                {"digest", mdigest},
                {"size", mtext.size()}};
      if (!t.empty())
        d["annotations"] = {{"io.containerd.image.name", t},
                            {"org.opencontainers.image.ref.name", t.substr(t.rfind(':') + 1)}};
      manifests.push_back(d);
    }
  }
  files["index.json"] = json({{"schemaVersion", 2}, {"manifests", manifests}}).dump();
  files["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
  return outer_tar(files);
}

std::string docker_save_legacy(const std::vector<ImageSpec>& images) {
  std::map<std::string, std::string> files;
  json manifest = json::array();
  for (const auto& img : images) {
    std::string cfg = config_json(img);
    std::string cfg_name = sha256_digest(cfg).substr(7) + ".json";
    files[cfg_name] = cfg;
    json layers = json::array();
    for (const auto& l : img.layers) {
      std::string id = sha256_digest(l.diff_id).substr(7);
      files[id + "/layer.tar"] = l.blob;
      files[id + "/VERSION"] = "1.0";
      files[id + "/json"] = json({{"id", id}}).dump();
      layers.push_back(id + "/layer.tar");
    }
    manifest.push_back({{"Config", cfg_name}, {"RepoTags", img.tags}, {"Layers", layers}});
  }
  files["manifest.json"] = manifest.dump();
  return outer_tar(files);
}

std::string docker_save_blobs(const std::vector<ImageSpec>& images) {
  std::map<std::string, std::string> files;
  json manifest = json::array();
  for (const auto& img : images) {
    std::string cfg = config_json(img);
    std::string cfg_name = "blobs/sha256/" + sha256_digest(cfg).substr(7);
    files[cfg_name] = cfg;
    json layers = json::array();
    for (const auto& l : img.layers) {
      files["blobs/sha256/" + l.digest.substr(7)] = l.blob;
      layers.push_back("blobs/sha256/" + l.digest.substr(7));
    }
    manifest.push_back({{"Config", cfg_name}, {"RepoTags", img.tags}, {"Layers", layers}});
  }
  files["manifest.json"] = manifest.dump();
  files["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
  return outer_tar(files);
}

void write_file(const std::filesystem::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("write " + p.string());
}

}  // namespace mctr::image::test
