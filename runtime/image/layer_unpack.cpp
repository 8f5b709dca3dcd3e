#include "image/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <vector>

#include "image/digest.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/openat2.h"

namespace mctr::image {

namespace {

constexpr size_t kBufSize = 256 << 10;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

// Only the compressions a layer may use. (support_filter_all would also run
// external programs such as lrzip on hostile input.)
void enable_layer_filters(archive* a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_bzip2(a);
}

// ---------------------------------------------------------------------------
// The two hashing stages of the pipeline. libarchive is C: an exception must
// not cross it, so a callback stores it and returns -1; the caller rethrows.

struct BlobStage {  // compressed blob bytes -> blob digest, progress
  BlobReader* in = nullptr;
  const std::function<void(uint64_t)>* progress = nullptr;
  Sha256 hash;
  uint64_t bytes = 0;
  std::vector<char> buf = std::vector<char>(kBufSize);
  std::exception_ptr err;
};

la_ssize_t blob_read_cb(archive* a, void* ud, const void** out) {
  auto* s = static_cast<BlobStage*>(ud);
  try {
    size_t n = s->in->read(s->buf.data(), s->buf.size());
    s->hash.update(s->buf.data(), n);
    s->bytes += n;
    if (*s->progress) (*s->progress)(s->bytes);
    *out = s->buf.data();
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    s->err = std::current_exception();
    archive_set_error(a, EIO, "reading the layer blob failed");
    return -1;
  }
}

struct TarStage {  // decompressed tar stream -> diffID, size limit
  archive* dec = nullptr;
  uint64_t limit = 0;
  Sha256 hash;
  uint64_t bytes = 0;
  std::vector<char> buf = std::vector<char>(kBufSize);
  std::exception_ptr err;
};

la_ssize_t tar_read_cb(archive* a, void* ud, const void** out) {
  auto* s = static_cast<TarStage*>(ud);
  try {
    la_ssize_t n = archive_read_data(s->dec, s->buf.data(), s->buf.size());
    if (n < 0) {
      const char* msg = archive_error_string(s->dec);
      throw Error(std::string("decompressing the layer failed: ") + (msg ? msg : "unknown error"));
    }
    s->bytes += static_cast<uint64_t>(n);
    if (s->bytes > s->limit)
      throw Error("uncompressed layer is larger than the limit of " + std::to_string(s->limit) +
                  " bytes (decompression bomb?); raise it with --max-layer-size");
    s->hash.update(s->buf.data(), static_cast<size_t>(n));
    *out = s->buf.data();
    return n;
  } catch (...) {
    s->err = std::current_exception();
    archive_set_error(a, EIO, "reading the layer stream failed");
    return -1;
  }
}

struct Pipeline {
  BlobStage blob;
  TarStage tar;
  // Report a libarchive failure: the stored exception when a stage threw,
  // else libarchive's own message.
  [[noreturn]] void fail(archive* a, const char* what) {
    if (blob.err) std::rethrow_exception(blob.err);
    if (tar.err) std::rethrow_exception(tar.err);
    const char* msg = archive_error_string(a);
    throw Error(std::string(what) + ": " + (msg ? msg : "unknown libarchive error"));
  }
};

// ---------------------------------------------------------------------------
// Paths inside the layer.

// "./usr//bin/sh" -> {"usr","bin","sh"}; "/etc/passwd" -> {"etc","passwd"}
// (absolute names are taken relative to the layer root, as tar does).
// ".." is refused outright: no legitimate layer needs it.
std::vector<std::string> split_entry_path(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..")
      throw Error("entry \"" + p.substr(0, 200) + "\" contains \"..\" (refusing to leave the layer)");
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    i = j + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

// Open `rel` below the layer root as if the root were "/": symlinks (even
// absolute ones, even "../../..") resolve inside the layer and never above
// it, nor into another mount below it.
UniqueFd open_in_layer(int rootfd, const std::string& rel, int flags) {
  return fs::try_open_in_root(rootfd, rel, static_cast<uint64_t>(flags), RESOLVE_NO_XDEV);
}

// Remove `name` in dirfd, recursively, never following symlinks.
void remove_at(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return;
    throw_sys("fstatat", name);
  }
  if (!S_ISDIR(st.st_mode)) {
    check_sys(::unlinkat(dirfd, name.c_str(), 0), "unlinkat", name);
    return;
  }
  int sub = check_sys(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                      "openat", name);
  DIR* d = ::fdopendir(sub);
  if (!d) {
    ::close(sub);
    throw_sys("fdopendir", name);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      children.emplace_back(e->d_name);
  for (const auto& c : children) remove_at(sub, c);
  check_sys(::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR), "unlinkat", name);
}

// The process's umask, without changing it (umask(2) would, for every thread):
// /proc/self/status says it. 0777 (nothing is created as is) when it cannot.
mode_t current_umask() {
  UniqueFd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  char buf[4096];
  ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return 0777;
  buf[n] = 0;
  const char* line = std::strstr(buf, "\nUmask:");
  return line ? static_cast<mode_t>(std::strtoul(line + 7, nullptr, 8)) & 0777 : 0777;
}

void write_all_at(int fd, const char* buf, size_t size, off_t off, const std::string& name) {
  while (size) {
    ssize_t n = ::pwrite(fd, buf, size, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write", name);
    }
    buf += n;
    size -= static_cast<size_t>(n);
    off += n;
  }
}

// ---------------------------------------------------------------------------
// Writes tar entries into the layer directory, one syscall at a time.

class LayerWriter {
 public:
  LayerWriter(const std::filesystem::path& dir, const LoadLimits& limits, Pipeline& pipe)
      : limits_(limits), pipe_(pipe), umask_(current_umask()), uid_(::geteuid()), gid_(::getegid()) {
    root_.reset(check_sys(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", dir));
  }

  void write_entry(archive* tar, archive_entry* e) {
    if (++stats.entries > limits_.max_entries)
      throw Error("layer has more than " + std::to_string(limits_.max_entries) +
                  " entries; raise the limit with --max-layer-entries");
    const char* raw = archive_entry_pathname(e);
    if (!raw) throw Error("tar entry without a name");
    std::vector<std::string> parts = split_entry_path(raw);
    if (parts.empty()) {  // "./": the layer's root directory itself
      if (archive_entry_filetype(e) == AE_IFDIR) set_dir_metadata(root_.get(), "", e);
      return;
    }
    const std::string& base = parts.back();
    if (base.starts_with(".wh.")) return write_whiteout(parts);
    if (archive_entry_hardlink(e)) return write_hardlink(parts, archive_entry_hardlink(e));

    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        return write_file(tar, parts, e);
      case AE_IFDIR:
        return write_dir(parts, e);
      case AE_IFLNK:
        return write_symlink(parts, e);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return write_node(parts, e);
      default:
        return;  // sockets cannot be created from a tar; tar tools skip them too
    }
  }

  // Directory mtimes last: creating children changed them.
  void finish() {
    for (const auto& [rel, ts] : dir_times_) {
      UniqueFd fd = open_in_layer(root_.get(), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!fd) continue;  // removed later in the same layer
      check_sys(::futimens(fd.get(), ts.data()), "futimens", rel);
    }
  }

  LayerStats stats;
  bool stream_ended_early = false;  // the tar stopped without its end blocks

 private:
  // The directory holding parts[0..n-1], created (0755, like tar) when the
  // layer did not list it.
  UniqueFd open_dir(const std::vector<std::string>& parts, size_t n) {
    std::string rel = join(parts, n);
    if (UniqueFd fd = open_in_layer(root_.get(), rel, O_RDONLY | O_DIRECTORY)) return fd;
    if (errno != ENOENT || n == 0) throw_sys("openat2", "<layer>/" + rel);
    UniqueFd parent = open_dir(parts, n - 1);
    if (::mkdirat(parent.get(), parts[n - 1].c_str(), 0755) < 0 && errno != EEXIST)
      throw_sys("mkdirat", "<layer>/" + rel);
    UniqueFd fd = open_in_layer(root_.get(), rel, O_RDONLY | O_DIRECTORY);
    if (!fd) throw_sys("openat2", "<layer>/" + rel);  // e.g. a dangling symlink in the way
    return fd;
  }

  // The parent directory of an entry, cached: tar entries come grouped by directory.
  int parent_of(const std::vector<std::string>& parts) {
    std::string rel = join(parts, parts.size() - 1);
    if (!cached_fd_ || rel != cached_rel_) {
      cached_fd_ = open_dir(parts, parts.size() - 1);
      cached_rel_ = rel;
      // A setgid directory hands its group down, a default ACL its mode bits.
      struct stat st;
      check_sys(::fstat(cached_fd_.get(), &st), "fstat", "<layer>/" + rel);
      cached_hands_down_ = (st.st_mode & S_ISGID) ||
                           ::fgetxattr(cached_fd_.get(), "system.posix_acl_default", nullptr, 0) >= 0;
    }
    return cached_fd_.get();
  }

  // Does an entry made now in the cached parent get the entry's owner and
  // mode from the create call alone? Then chown and chmod are skipped: most
  // entries of an image are root's, 0644 or 0755, without xattrs. Not when
  // the umask would cut the mode, for setuid/setgid/sticky bits (chown order
  // matters for them), nor below a setgid or default-ACL directory.
  bool created_as_is(archive_entry* e) const {
    mode_t perm = archive_entry_perm(e) & 07777;
    return static_cast<uid_t>(archive_entry_uid(e)) == uid_ &&
           static_cast<gid_t>(archive_entry_gid(e)) == gid_ && !cached_hands_down_ &&
           (perm & (07000 | umask_)) == 0 && archive_entry_xattr_count(e) == 0;
  }

  // Make room for a new entry called `name`. Returns true when an existing
  // directory should be kept (a directory entry over a directory merges).
  bool make_room(int dirfd, const std::string& name, bool new_is_dir) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return false;
      throw_sys("fstatat", name);
    }
    if (S_ISDIR(st.st_mode) && new_is_dir) return true;
    remove_at(dirfd, name);
    cached_fd_.reset();  // the cached parent may have been below what we removed
    cached_rel_.clear();
    return false;
  }

  static std::array<timespec, 2> entry_times(archive_entry* e) {
    timespec mtime{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    timespec atime =
        archive_entry_atime_is_set(e) ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)} : mtime;
    return {atime, mtime};
  }

  // Owner, xattrs, then mode: chown clears setuid/setgid bits and file
  // capabilities (security.capability), so it must come first.
  void set_owner_xattrs_mode(int fd, const std::string& name, archive_entry* e) {
    check_sys(
        ::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e))),
        "fchown", name);
    archive_entry_xattr_reset(e);
    const char* xname;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
      // trusted.overlay.* would steer overlayfs itself (redirects, metacopy,
      // opaque): an image may not set them, only our whiteout conversion does.
      if (std::strncmp(xname, "trusted.overlay.", 16) == 0) continue;
      if (::fsetxattr(fd, xname, value, size, 0) < 0 && errno != ENOTSUP)
        throw_sys("fsetxattr", name + " " + xname);
    }
    check_sys(::fchmod(fd, archive_entry_perm(e) & 07777), "fchmod", name);
  }

  void set_dir_metadata(int fd, const std::string& rel, archive_entry* e) {
    set_owner_xattrs_mode(fd, rel, e);
    dir_times_.emplace_back(rel, entry_times(e));
  }

  void write_file(archive* tar, const std::vector<std::string>& parts, archive_entry* e) {
    uint64_t declared = static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(e)));
    stats.bytes += declared;  // counts sparse holes too: a 1 TB sparse file is a bomb as well
    if (stats.bytes > limits_.max_unpacked_bytes)
      throw Error("layer files add up to more than the limit of " +
                  std::to_string(limits_.max_unpacked_bytes) + " bytes; raise it with --max-layer-size");
    int dirfd = parent_of(parts);
    const std::string& name = parts.back();
    bool as_is = created_as_is(e);
    mode_t mode = as_is ? archive_entry_perm(e) & 0777 : 0600;
    auto create = [&] {
      return UniqueFd(
          ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    };
    UniqueFd fd = create();
    if (!fd && errno == EEXIST) {  // an earlier entry of this layer had the name
      make_room(dirfd, name, false);
      dirfd = parent_of(parts);
      as_is = created_as_is(e);
      mode = as_is ? archive_entry_perm(e) & 0777 : 0600;
      fd = create();
    }
    if (!fd) throw_sys("openat", join(parts, parts.size()));
    const void* buf;
    size_t size;
    la_int64_t off;
    uint64_t end = 0;
    for (;;) {
      int r = archive_read_data_block(tar, &buf, &size, &off);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        // Some writers (umoci's insert) end the tar right after the last
        // file's data: no padding, no end-of-archive blocks. The data is
        // complete (and covered by the diffID), so accept it as the end.
        if (end == declared && !pipe_.blob.err && !pipe_.tar.err) {
          stream_ended_early = true;
          break;
        }
        pipe_.fail(tar, "reading layer file");
      }
      if (off < 0 || static_cast<uint64_t>(off) + size > declared)
        throw Error("tar entry data beyond its size");
      write_all_at(fd.get(), static_cast<const char*>(buf), size, off, name);
      end = std::max<uint64_t>(end, static_cast<uint64_t>(off) + size);
    }
    if (end < declared)
      check_sys(::ftruncate(fd.get(), static_cast<off_t>(declared)), "ftruncate", name);  // sparse tail
    if (!as_is) set_owner_xattrs_mode(fd.get(), name, e);
    auto ts = entry_times(e);
    check_sys(::futimens(fd.get(), ts.data()), "futimens", name);
  }

  void write_dir(const std::vector<std::string>& parts, archive_entry* e) {
    int dirfd = parent_of(parts);
    const std::string& name = parts.back();
    bool as_is = created_as_is(e);
    if (::mkdirat(dirfd, name.c_str(), as_is ? archive_entry_perm(e) & 0777 : 0700) == 0) {
      if (as_is) {  // owner and mode are right: only the times are left
        dir_times_.emplace_back(join(parts, parts.size()), entry_times(e));
        return;
      }
    } else {
      if (errno != EEXIST) throw_sys("mkdirat", name);
      if (!make_room(dirfd, name, true)) {  // not a directory: replaced by one
        dirfd = parent_of(parts);
        check_sys(::mkdirat(dirfd, name.c_str(), 0700), "mkdirat", name);
      }
    }
    UniqueFd fd(check_sys(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                          "openat", name));
    set_dir_metadata(fd.get(), join(parts, parts.size()), e);
  }

  void write_symlink(const std::vector<std::string>& parts, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (!target || !*target) throw Error("symlink \"" + join(parts, parts.size()) + "\" has no target");
    int dirfd = parent_of(parts);
    const std::string& name = parts.back();
    // The target is stored as text and never followed here; in the container
    // it resolves inside the container's root.
    if (::symlinkat(target, dirfd, name.c_str()) < 0) {
      if (errno != EEXIST) throw_sys("symlinkat", name);
      make_room(dirfd, name, false);
      dirfd = parent_of(parts);
      check_sys(::symlinkat(target, dirfd, name.c_str()), "symlinkat", name);
    }
    uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
    gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
    if (uid != uid_ || gid != gid_ || cached_hands_down_)
      check_sys(::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW), "fchownat", name);
    auto ts = entry_times(e);
    check_sys(::utimensat(dirfd, name.c_str(), ts.data(), AT_SYMLINK_NOFOLLOW), "utimensat", name);
  }

  void write_hardlink(const std::vector<std::string>& parts, const char* target) {
    std::vector<std::string> tparts = split_entry_path(target);
    if (tparts.empty()) throw Error("hardlink \"" + join(parts, parts.size()) + "\" has no target");
    // The target's directory is looked up inside the layer like any path, so
    // a link can only ever point at a file of this layer.
    std::string trel = join(tparts, tparts.size() - 1);
    UniqueFd tdir = open_in_layer(root_.get(), trel, O_RDONLY | O_DIRECTORY);
    if (!tdir) throw_sys("openat2", "<layer>/" + trel);
    int dirfd = parent_of(parts);
    const std::string& name = parts.back();
    if (parts == tparts) return;  // a link to itself: nothing to do
    make_room(dirfd, name, false);
    dirfd = parent_of(parts);
    // flags 0: if the target is a symlink, link the symlink, never what it points to.
    if (::linkat(tdir.get(), tparts.back().c_str(), dirfd, name.c_str(), 0) < 0)
      throw_sys("linkat", join(parts, parts.size()) + " -> " + target);
  }

  void write_node(const std::vector<std::string>& parts, archive_entry* e) {
    int dirfd = parent_of(parts);
    const std::string& name = parts.back();
    make_room(dirfd, name, false);
    dirfd = parent_of(parts);
    mode_t perm = archive_entry_perm(e) & 07777;
    check_sys(::mknodat(dirfd, name.c_str(), archive_entry_filetype(e) | perm, archive_entry_rdev(e)),
              "mknodat", name);
    check_sys(::fchownat(dirfd, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                         static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW),
              "fchownat", name);
    check_sys(::fchmodat(dirfd, name.c_str(), perm, 0), "fchmodat", name);
    auto ts = entry_times(e);
    check_sys(::utimensat(dirfd, name.c_str(), ts.data(), AT_SYMLINK_NOFOLLOW), "utimensat", name);
  }

  // OCI whiteouts -> overlayfs whiteouts.
  void write_whiteout(const std::vector<std::string>& parts) {
    const std::string& base = parts.back();
    if (base == ".wh..wh..opq") {
      // "Everything below this directory in lower layers is hidden."
      UniqueFd dir = open_dir(parts, parts.size() - 1);
      check_sys(::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0),
                "fsetxattr trusted.overlay.opaque", join(parts, parts.size() - 1));
      return;
    }
    std::string hidden = base.substr(4);
    if (hidden.starts_with(".wh.")) return;  // other AUFS bookkeeping (.wh..wh.plnk ...): not a file
    if (hidden.empty() || hidden == "." || hidden == "..")
      throw Error("invalid whiteout \"" + join(parts, parts.size()) + "\"");
    int dirfd = parent_of(parts);
    make_room(dirfd, hidden, false);
    dirfd = parent_of(parts);
    // "This name is deleted": overlayfs' whiteout is a character device 0:0.
    check_sys(::mknodat(dirfd, hidden.c_str(), S_IFCHR | 0, makedev(0, 0)), "mknodat (whiteout)", hidden);
  }

  UniqueFd root_;
  const LoadLimits& limits_;
  Pipeline& pipe_;
  mode_t umask_;  // new entries' modes are cut by it
  uid_t uid_;     // ... and owned by us
  gid_t gid_;
  std::string cached_rel_;
  UniqueFd cached_fd_;
  bool cached_hands_down_ = false;  // the cached parent is setgid or has a default ACL
  std::vector<std::pair<std::string, std::array<timespec, 2>>> dir_times_;
};

void drain(const std::function<la_ssize_t()>& read_more) {
  while (read_more() > 0) {
  }
}

}  // namespace

LayerStats unpack_layer(BlobReader& blob, const std::filesystem::path& dir, const LayerExpect& expect,
                        const LoadLimits& limits, const std::function<void(uint64_t)>& progress) {
  Pipeline pipe;
  pipe.blob.in = &blob;
  pipe.blob.progress = &progress;
  pipe.tar.limit = limits.max_unpacked_bytes;

  // Stage 1: detect and undo the compression (gzip, zstd, or none).
  ArchivePtr dec(archive_read_new());
  enable_layer_filters(dec.get());
  archive_read_support_format_raw(dec.get());
  if (archive_read_open(dec.get(), &pipe.blob, nullptr, blob_read_cb, nullptr) != ARCHIVE_OK)
    pipe.fail(dec.get(), "opening layer");
  archive_entry* e;
  int r = archive_read_next_header(dec.get(), &e);
  if (r == ARCHIVE_EOF) throw Error("layer blob is empty");
  if (r < ARCHIVE_WARN) pipe.fail(dec.get(), "opening layer");

  // Stage 2: read the tar and write every entry ourselves.
  pipe.tar.dec = dec.get();
  ArchivePtr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &pipe.tar, nullptr, tar_read_cb, nullptr) != ARCHIVE_OK)
    pipe.fail(tar.get(), "reading layer tar");
  LayerWriter writer(dir, limits, pipe);
  for (;;) {
    r = archive_read_next_header(tar.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) pipe.fail(tar.get(), "reading layer tar");
    writer.write_entry(tar.get(), e);
    if (writer.stream_ended_early) break;
  }
  writer.finish();

  // The digests cover every byte, including the tar's zero padding after
  // its end marker and anything after the compressed stream.
  const void* out;
  drain([&] {
    la_ssize_t n = tar_read_cb(tar.get(), &pipe.tar, &out);
    if (n < 0) pipe.fail(tar.get(), "reading layer tar");
    return n;
  });
  drain([&] {
    la_ssize_t n = blob_read_cb(dec.get(), &pipe.blob, &out);
    if (n < 0) pipe.fail(dec.get(), "reading layer blob");
    return n;
  });

  if (expect.blob_digest) {
    std::string got = pipe.blob.hash.digest();
    if (got != *expect.blob_digest)
      throw Error("blob digest mismatch: the archive has " + got + ", the manifest says " +
                  *expect.blob_digest);
  }
  std::string diff = pipe.tar.hash.digest();
  if (diff != expect.diff_id)
    throw Error("diffID mismatch: the uncompressed layer is " + diff + ", the image config says " +
                expect.diff_id);
  return writer.stats;
}

}  // namespace mctr::image
