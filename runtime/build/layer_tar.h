// Layer tars the OCI way, written reproducibly: entries sorted by path,
// every mtime the same (SOURCE_DATE_EPOCH), owners and modes as they are,
// no user/group names, no atime/ctime; pax format (long names, big files).
//
// Overlayfs' representation of deletions becomes the OCI one:
//   a character device 0:0 NAME           -> an empty file .wh.NAME
//   a directory with trusted.overlay.opaque -> the directory + DIR/.wh..wh..opq
// which is exactly what image/layer_unpack.cpp turns back into overlayfs
// whiteouts: a layer dir unpacked from a tar written here gives the same tar
// again (how `save` writes layers, and why their diffIDs stay the same).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace mctr::build {

struct TarEntry {
  enum class Type { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo, kWhiteout, kOpaque };
  Type type = Type::kFile;
  mode_t mode = 0644;  // permission bits (07777)
  uid_t uid = 0;
  gid_t gid = 0;
  std::filesystem::path data;  // kFile: where the bytes are read from
  std::string link;            // kSymlink target; kHardlink: the path (in the layer) linked to
  dev_t rdev = 0;
  std::map<std::string, std::string> xattrs;  // name -> value, overlay's own ones left out
  // Files with more than one link: the first path (in tar order) of each
  // inode is written as the file, the others as hardlinks to it.
  std::optional<std::pair<dev_t, ino_t>> inode;
};

class LayerTar {
 public:
  // `path` relative to the layer root, without leading "/" ("usr/bin/x").
  // A later entry for the same path replaces the earlier one.
  void add(const std::string& path, TarEntry e) { entries_[path] = std::move(e); }
  bool has(const std::string& path) const { return entries_.count(path) > 0; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // Everything under the host directory `dir` (not `dir` itself) as paths
  // under `prefix` ("" = the layer root). Overlay whiteouts and opaque
  // directories become OCI ones; hardlinked files stay hardlinks. `owner`
  // overrides every entry's uid:gid (COPY --chown, COPY from the context).
  // `skip(sub)`: leave out `sub` (relative to `dir`) and what is below it.
  void add_tree(const std::filesystem::path& dir, const std::string& prefix,
                const std::optional<std::pair<uid_t, gid_t>>& owner = std::nullopt,
                const std::function<bool(const std::string& sub)>& skip = {}, const std::string& sub = "");
  // One file, directory (without its content) or symlink from the host.
  void add_host_entry(const std::filesystem::path& host, const std::string& path,
                      const std::optional<std::pair<uid_t, gid_t>>& owner = std::nullopt);

  // Lay `upper` over this tree as overlayfs shows the two (`export`: a
  // container's layers and upper dir as one tree): upper's whiteouts delete
  // a path and what is below it, its opaque directories hide what was below
  // them here, its other entries replace ours. No whiteout is kept.
  void merge_over(const LayerTar& upper);

  // Write the tar to `out`; returns its digest, the layer's diffID.
  std::string write(const std::filesystem::path& out, int64_t mtime) const;

 private:
  std::map<std::string, TarEntry> entries_;
};

// A path made relative to the layer root: "/a//b/" -> "a/b", "/" -> "".
std::string layer_path(const std::string& abs);

}  // namespace mctr::build
