// ArchiveSource: the files of an image archive, read by name.
//
// An image tar (OCI layout, oci-archive, docker save) is read with libarchive
// (any compression of the outer tar is detected). Blobs can be in any order in
// the tar, so it is read in passes: the first pass lists every entry and keeps
// the small files (index.json, manifests, configs) in memory; later passes
// stream only the entries asked for. An OCI image-layout *directory* works the
// same way. Nothing is extracted: every byte is handed to the caller.
#pragma once

#include <archive.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace mctr::image {

// A stream of one file's bytes.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Up to n bytes, 0 at the end. Throws mctr::Error on a read error or a
  // truncated archive.
  virtual size_t read(void* buf, size_t n) = 0;
  virtual uint64_t size() const = 0;  // as recorded in the archive
};

// "a/./b" -> "a/b", "./index.json" -> "index.json". Throws mctr::Error when
// the name leaves the archive ("..", or empty).
std::string normalize_archive_name(const std::string& name);

class ArchiveSource {
 public:
  explicit ArchiveSource(std::filesystem::path path);
  ~ArchiveSource();

  const std::filesystem::path& path() const { return path_; }
  // Is there a regular file called `name` (after following symlinks in the archive)?
  bool has(const std::string& name) const;
  // The whole content of a small file; throws when missing or larger than max_size.
  std::string read_small(const std::string& name, size_t max_size = 16 << 20);
  // The name of the regular file that `name` leads to (archive symlinks and
  // hardlinks followed), or "" when there is none.
  std::string canonical_name(const std::string& name) const { return resolve(name); }
  // One pass over the archive: fn(real_name, reader) once for every regular
  // file that a name in `wanted` leads to, in archive order. Returns the real
  // names streamed.
  using StreamFn = std::function<void(const std::string& name, BlobReader& reader)>;
  std::set<std::string> stream(const std::set<std::string>& wanted, const StreamFn& fn);
  // A layout directory's files can be read at once, each on its own thread:
  // a reader of the file `name` leads to. Only for a directory (is_dir()).
  bool is_dir() const { return is_dir_; }
  std::unique_ptr<BlobReader> open_file(const std::string& name) const;

 private:
  struct Entry {
    uint64_t size = 0;
    bool regular = false;
    std::string symlink;  // normalized target when the entry is a symlink/hardlink
  };
  std::string resolve(const std::string& name) const;  // follow archive symlinks
  void index_tar();
  void index_dir();
  struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
  };
  std::unique_ptr<archive, ArchiveFree> open_tar() const;

  std::filesystem::path path_;
  bool is_dir_ = false;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> small_;  // cached contents of small files
};

}  // namespace mctr::image
