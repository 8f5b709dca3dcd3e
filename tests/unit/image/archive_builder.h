// Builds image archives in memory with libarchive's write side, so each test
// states exactly which (possibly hostile) bytes the store is given.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "image/digest.h"

namespace mctr::image::test {

struct TarEntry {
  std::string name;
  mode_t type = AE_IFREG;  // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO
  std::string content;     // file data
  std::string link;        // symlink target
  std::string hardlink;    // hardlink target (type ignored)
  mode_t perm = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  std::map<std::string, std::string> xattrs;
  int64_t declared_size = -1;  // for sparse/bomb tests: size without data
};

inline TarEntry file(std::string name, std::string content, mode_t perm = 0644) {
  TarEntry e;
  e.name = std::move(name);
  e.content = std::move(content);
  e.perm = perm;
  return e;
}
inline TarEntry dir(std::string name, mode_t perm = 0755) {
  TarEntry e;
  e.name = std::move(name);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
inline TarEntry symlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = AE_IFLNK;
  e.link = std::move(target);
  e.perm = 0777;
  return e;
}
inline TarEntry hardlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.hardlink = std::move(target);
  return e;
}

// A tar stream of entries (pax format, no compression).
std::string make_tar(const std::vector<TarEntry>& entries);

enum class Compression { none, gzip, zstd };
std::string compress(const std::string& data, Compression c);

struct Layer {
  std::string blob;     // as stored in the archive
  std::string digest;   // sha256 of blob
  std::string diff_id;  // sha256 of the uncompressed tar
  std::string media_type;
};
Layer make_layer(const std::vector<TarEntry>& entries, Compression c = Compression::gzip);

struct ImageSpec {
  std::vector<Layer> layers;
  std::vector<std::string> tags;  // "name:tag"
  nlohmann::json config = {{"Env", {"PATH=/bin"}}, {"Cmd", {"sh"}}};
  std::optional<std::vector<std::string>> diff_ids;  // override (diffID mismatch tests)
};
std::string config_json(const ImageSpec& img);

// Outer archives. Each returns the tar bytes.
std::string oci_archive(const std::vector<ImageSpec>& images);
std::string docker_save_legacy(const std::vector<ImageSpec>& images);
std::string docker_save_blobs(const std::vector<ImageSpec>& images);

// Raw outer tar from name -> content (for corrupt layouts).
std::string outer_tar(const std::map<std::string, std::string>& files);

void write_file(const std::filesystem::path& p, const std::string& data);

}  // namespace mctr::image::test
