#include "container/copy_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "container/copy_fs.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/openat2.h"

namespace mctr::container {

namespace {

using namespace copyfs;
using fs::open_in_root;  // util/openat2.h: paths in the container's root
using fs::try_open_in_root;

struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

[[noreturn]] void archive_fail(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  throw Error(what + ": " + (msg ? msg : "unknown libarchive error"));
}

// ---------------------------------------------------------------------------
// Container tree -> tar stream.

// Where the tar goes. After a failure nothing more is written, not even the
// end-of-archive blocks archive_write_free would add: a reader sees a cut
// stream, never a well-formed tar with entries missing.
struct TarSink {
  int fd;
  bool failed = false;
};

la_ssize_t sink_write_cb(archive* a, void* ud, const void* buf, size_t size) {
  auto* s = static_cast<TarSink*>(ud);
  if (s->failed) return static_cast<la_ssize_t>(size);
  for (size_t off = 0; off < size;) {
    ssize_t n = ::write(s->fd, static_cast<const char*>(buf) + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "write: %s", std::strerror(errno));
      s->failed = true;
      return -1;
    }
    off += static_cast<size_t>(n);
  }
  return static_cast<la_ssize_t>(size);
}

class TarWriter {
 public:
  TarWriter(int out_fd, int proc_fd) : a_(archive_write_new()), sink_{out_fd}, proc_fd_(proc_fd) {
    if (!a_) throw Error("archive_write_new failed");
    // pax_restricted: plain ustar unless a name, size or time needs pax
    // headers, which GNU tar and Docker both read.
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
        archive_write_open2(a_, &sink_, nullptr, sink_write_cb, nullptr, nullptr) != ARCHIVE_OK)
      archive_fail(a_, "writing the tar stream");
  }
  ~TarWriter() {
    sink_.failed = sink_.failed || !finished_;
    archive_write_free(a_);
  }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // `arc_path`: the entry's name in the tar; `shown`: its path for messages.
  void add(int dirfd, const std::string& name, const std::string& arc_path, const std::string& shown,
           bool top) {
    struct stat st;
    check_sys(::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "fstatat", shown);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd d(check_sys(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                           "openat", shown));
      check_sys(::fstat(d.get(), &st), "fstat", shown);
      write_header(arc_path, st, nullptr);
      for (const auto& child : list_children(d.get(), shown))
        add(d.get(), child, arc_path + "/" + child, shown + "/" + child, false);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n =
          check_sys(::readlinkat(dirfd, name.c_str(), target, sizeof target - 1), "readlinkat", shown);
      target[n] = 0;
      write_header(arc_path, st, target);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd fd = open_regular(dirfd, name, proc_fd_, st);  // st: now of the pinned inode
      if (!fd) return skip(shown, st.st_mode, top);           // swapped for something else meanwhile
      write_header(arc_path, st, nullptr);
      write_data(fd.get(), static_cast<uint64_t>(st.st_size), shown);
    } else {
      skip(shown, st.st_mode, top);
    }
  }

  void finish() {
    if (archive_write_close(a_) != ARCHIVE_OK) archive_fail(a_, "writing the tar stream");
    finished_ = true;
  }

 private:
  static void skip(const std::string& path, mode_t mode, bool top) {
    if (top) refuse_special(path, mode);
    warn_skipped(path, mode);
  }

  void write_header(const std::string& path, const struct stat& st, const char* symlink) {
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), st.st_mode & S_IFMT);
    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_set_size(e.get(), S_ISREG(st.st_mode) ? st.st_size : 0);
    if (symlink) archive_entry_set_symlink(e.get(), symlink);
    if (archive_write_header(a_, e.get()) < ARCHIVE_WARN) archive_fail(a_, "writing the tar stream");
  }

  // Exactly `size` bytes, the size in the header: a file the container
  // shortens meanwhile is padded with zeros, one it grows is cut.
  void write_data(int fd, uint64_t size, const std::string& path) {
    std::vector<char> buf(1 << 16);
    while (size) {
      ssize_t n = ::read(fd, buf.data(), std::min<uint64_t>(buf.size(), size));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_sys("read", path);
      if (n == 0) {
        std::fill(buf.begin(), buf.end(), 0);
        n = static_cast<ssize_t>(std::min<uint64_t>(buf.size(), size));
      }
      if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0)
        archive_fail(a_, "writing the tar stream");
      size -= static_cast<uint64_t>(n);
    }
  }

  archive* a_;
  TarSink sink_;
  int proc_fd_;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------
// Tar stream -> directory in the container.

// "./a//b/" -> {"a","b"}; "/etc/x" -> {"etc","x"} (taken relative to the
// destination, as tar does). Empty when the name holds "..".
bool split_entry_path(const char* raw, std::vector<std::string>& parts) {
  parts.clear();
  std::string p = raw ? raw : "";
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") return false;
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    i = j + 1;
  }
  return true;
}

std::string join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

class TarExtractor {
 public:
  explicit TarExtractor(int destfd) : dest_(destfd) {}

  void extract(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    std::vector<std::string> parts;
    if (!split_entry_path(raw, parts)) return warn(raw, "its name contains \"..\"");
    if (parts.empty()) return;  // "./": the destination itself keeps its owner and mode
    std::string rel = join(parts, parts.size());
    if (const char* target = archive_entry_hardlink(e)) return hardlink(parts, rel, target);
    Meta meta;
    meta.mode = archive_entry_perm(e) & 07777;
    meta.uid = static_cast<uid_t>(archive_entry_uid(e));
    meta.gid = static_cast<gid_t>(archive_entry_gid(e));
    meta.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    meta.times[0] = archive_entry_atime_is_set(e)
                        ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                        : meta.times[1];
    switch (archive_entry_filetype(e)) {
      case AE_IFREG: {
        UniqueFd dir = parent_dir(parts);
        NewFile f(dir.get(), parts.back());
        std::vector<char> buf(1 << 16);
        for (;;) {
          la_ssize_t n = archive_read_data(a, buf.data(), buf.size());  // holes come as zeros
          if (n < 0) archive_fail(a, "reading the tar stream (" + rel + ")");
          if (n == 0) break;
          f.write(buf.data(), static_cast<size_t>(n));
        }
        return f.commit(meta);
      }
      case AE_IFDIR: {
        UniqueFd dir = parent_dir(parts);
        UniqueFd d = make_dir(dir.get(), parts.back(), true);
        set_meta(d.get(), meta, rel);
        dir_times_.emplace_back(rel, meta.times);  // creating children changes them
        return;
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target || !*target) return warn(raw, "a symlink without a target");
        UniqueFd dir = parent_dir(parts);
        // Stored as text, never followed here: in the container it resolves
        // inside the container's root.
        return replace_with_symlink(dir.get(), parts.back(), target, meta);
      }
      default:
        return warn_skipped(rel, archive_entry_filetype(e));  // devices, FIFOs, sockets
    }
  }

  void finish() {
    for (const auto& [rel, times] : dir_times_) {
      UniqueFd fd = try_open_in_root(dest_, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (fd) ::futimens(fd.get(), times.data());  // gone or replaced since: nothing to date
    }
  }

 private:
  static void warn(const char* name, const char* why) {
    std::fprintf(stderr, "minictr cp: skipping %s: %s\n", name ? name : "(unnamed entry)", why);
  }

  // The directory that holds the entry, looked up below the destination
  // (symlinks in the way resolve inside it); missing ones are made 0755.
  UniqueFd parent_dir(const std::vector<std::string>& parts) { return open_dir(parts, parts.size() - 1); }

  UniqueFd open_dir(const std::vector<std::string>& parts, size_t n) {
    std::string rel = join(parts, n);
    UniqueFd fd = try_open_in_root(dest_, rel, O_RDONLY | O_DIRECTORY);
    if (fd) return fd;
    if (errno != ENOENT || n == 0) throw_sys("openat2", rel);
    UniqueFd parent = open_dir(parts, n - 1);
    if (::mkdirat(parent.get(), parts[n - 1].c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdirat", rel);
    return open_in_root(dest_, rel, O_RDONLY | O_DIRECTORY);
  }

  // A link to a file extracted earlier: the target is looked up below the
  // destination like any name, and must be a regular file there.
  void hardlink(const std::vector<std::string>& parts, const std::string& rel, const char* target) {
    std::vector<std::string> tparts;
    if (!split_entry_path(target, tparts) || tparts.empty())
      return warn(rel.c_str(), "a hard link whose target leaves the destination");
    UniqueFd tfd = try_open_in_root(dest_, join(tparts, tparts.size()), O_PATH | O_NOFOLLOW);
    if (!tfd) throw_sys("openat2", join(tparts, tparts.size()) + " (target of hard link " + rel + ")");
    struct stat st;
    check_sys(::fstat(tfd.get(), &st), "fstat", join(tparts, tparts.size()));
    if (!S_ISREG(st.st_mode)) return warn(rel.c_str(), "a hard link to something else than a regular file");
    UniqueFd dir = parent_dir(parts);
    replace_with_hardlink(tfd.get(), dir.get(), parts.back());
  }

  int dest_;
  std::vector<std::pair<std::string, std::array<timespec, 2>>> dir_times_;
};

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace

void write_tar(int dirfd, const std::string& name, const std::string& shown, int out_fd, int proc_fd) {
  TarWriter w(out_fd, proc_fd);
  w.add(dirfd, name, name, shown, true);
  w.finish();
}

void extract_tar(int in_fd, int destfd) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  if (!a) throw Error("archive_read_new failed");
  archive_read_support_format_tar(a.get());
  // As `docker cp -` accepts; not support_filter_all, which would also run
  // external programs (lrzip, ...).
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_fd(a.get(), in_fd, 1 << 16) != ARCHIVE_OK)
    archive_fail(a.get(), "reading the tar stream");
  TarExtractor x(destfd);
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) archive_fail(a.get(), "reading the tar stream");
    x.extract(a.get(), e);
  }
  x.finish();
}

}  // namespace mctr::container
