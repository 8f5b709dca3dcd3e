#include "image/archive_source.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/openat2.h"

namespace mctr::image {

namespace {

constexpr size_t kMaxEntries = 1'000'000;     // entries in the outer archive
constexpr size_t kSmallFile = 256 << 10;      // files this small are cached by the first pass
constexpr size_t kSmallCacheTotal = 8 << 20;  // ... up to this much in total
constexpr int kMaxSymlinkHops = 16;

[[noreturn]] void throw_archive(const std::filesystem::path& path, archive* a, const char* what) {
  const char* msg = archive_error_string(a);
  throw Error(path.string() + ": " + what + ": " + (msg ? msg : "unknown libarchive error"));
}

// Reads one entry of a tar opened with libarchive.
class TarEntryReader : public BlobReader {
 public:
  TarEntryReader(archive* a, uint64_t size, const std::filesystem::path& path)
      : a_(a), size_(size), path_(path) {}
  size_t read(void* buf, size_t n) override {
    la_ssize_t r = archive_read_data(a_, buf, n);
    if (r < 0) throw_archive(path_, a_, "read");
    return static_cast<size_t>(r);
  }
  uint64_t size() const override { return size_; }

 private:
  archive* a_;
  uint64_t size_;
  const std::filesystem::path& path_;
};

class FdReader : public BlobReader {
 public:
  FdReader(UniqueFd fd, uint64_t size, std::string name)
      : fd_(std::move(fd)), size_(size), name_(std::move(name)) {}
  size_t read(void* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_.get(), buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) throw_sys("read", name_);
    }
  }
  uint64_t size() const override { return size_; }

 private:
  UniqueFd fd_;
  uint64_t size_;
  std::string name_;
};

// Open `name` below the layout directory; never leaves it, follows no symlink.
UniqueFd open_beneath(int dirfd, const std::string& name, const std::filesystem::path& shown) {
  UniqueFd fd = fs::openat2_retrying(dirfd, name, O_RDONLY,
                                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (!fd) throw_sys("openat2", shown / name);
  return fd;
}

std::string read_all(BlobReader& r, size_t max_size, const std::string& name) {
  std::string out;
  char buf[65536];
  while (size_t n = r.read(buf, sizeof buf)) {
    if (out.size() + n > max_size) throw Error(name + ": larger than " + std::to_string(max_size) + " bytes");
    out.append(buf, n);
  }
  return out;
}

}  // namespace

std::string normalize_archive_name(const std::string& name) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string::npos) j = name.size();
    std::string part = name.substr(i, j - i);
    if (part == "..") {
      if (parts.empty())
        throw Error("archive entry \"" + name.substr(0, 200) + "\" points outside the archive");
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

ArchiveSource::ArchiveSource(std::filesystem::path path) : path_(std::move(path)) {
  struct stat st;
  if (::stat(path_.c_str(), &st) < 0) throw_sys("stat", path_);
  is_dir_ = S_ISDIR(st.st_mode);
  if (is_dir_)
    index_dir();
  else
    index_tar();
}

ArchiveSource::~ArchiveSource() = default;

std::unique_ptr<archive, ArchiveSource::ArchiveFree> ArchiveSource::open_tar() const {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  if (!a) throw Error("archive_read_new failed");
  archive_read_support_filter_all(a.get());  // `docker save | gzip` works too
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path_.c_str(), 1 << 16) != ARCHIVE_OK)
    throw_archive(path_, a.get(), "open");
  return a;
}

void ArchiveSource::index_tar() {
  auto a = open_tar();
  size_t cached = 0;
  archive_entry* e;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) throw_archive(path_, a.get(), entries_.empty() ? "not an image archive" : "read");
    if (entries_.size() >= kMaxEntries) throw Error(path_.string() + ": too many entries");
    const char* raw = archive_entry_pathname(e);
    if (!raw) continue;
    std::string name;
    try {
      name = normalize_archive_name(raw);
    } catch (const Error&) {
      continue;  // never asked for: manifests name blobs inside the archive only
    }
    if (name.empty()) continue;
    Entry ent;
    ent.size = static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(e)));
    if (const char* hl = archive_entry_hardlink(e)) {
      ent.symlink = normalize_archive_name(hl);  // hardlink targets are archive-root relative
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      std::string dir = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/') + 1);
      std::string t = target ? target : "";
      ent.symlink = normalize_archive_name(t.starts_with("/") ? t : dir + t);
    } else if (archive_entry_filetype(e) == AE_IFREG) {
      ent.regular = true;
      if (ent.size <= kSmallFile && cached + ent.size <= kSmallCacheTotal && !small_.count(name)) {
        TarEntryReader reader(a.get(), ent.size, path_);
        small_[name] = read_all(reader, kSmallFile, name);
        cached += ent.size;
      }
    }
    entries_.emplace(name, ent);  // the first entry of a name wins
  }
}

void ArchiveSource::index_dir() {
  namespace sfs = std::filesystem;
  for (auto it = sfs::recursive_directory_iterator(path_); it != sfs::recursive_directory_iterator(); ++it) {
    if (entries_.size() >= kMaxEntries) throw Error(path_.string() + ": too many entries");
    std::string name = sfs::relative(it->path(), path_).generic_string();
    Entry ent;
    auto st = it->symlink_status();
    if (sfs::is_regular_file(st)) {
      ent.regular = true;
      ent.size = it->file_size();
    } else if (sfs::is_symlink(st)) {
      std::string t = sfs::read_symlink(it->path()).generic_string();
      std::string dir = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/') + 1);
      ent.symlink = normalize_archive_name(t.starts_with("/") ? t : dir + t);
    } else {
      continue;
    }
    entries_.emplace(name, ent);
  }
}

std::string ArchiveSource::resolve(const std::string& asked) const {
  std::string name = normalize_archive_name(asked);
  for (int hop = 0; hop < kMaxSymlinkHops; ++hop) {
    auto it = entries_.find(name);
    if (it == entries_.end()) return {};
    if (it->second.regular) return name;
    if (it->second.symlink.empty()) return {};
    name = it->second.symlink;
  }
  return {};
}

bool ArchiveSource::has(const std::string& name) const { return !resolve(name).empty(); }

std::string ArchiveSource::read_small(const std::string& name, size_t max_size) {
  std::string real = resolve(name);
  if (real.empty()) throw Error(path_.string() + ": " + name + " is missing from the archive");
  if (auto it = small_.find(real); it != small_.end()) return it->second;
  if (entries_.at(real).size > max_size)
    throw Error(path_.string() + ": " + name + " is larger than " + std::to_string(max_size) + " bytes");
  std::string out;
  bool found = false;
  stream({name}, [&](const std::string&, BlobReader& r) {
    out = read_all(r, max_size, name);
    found = true;
  });
  if (!found) throw Error(path_.string() + ": " + name + " is missing from the archive");
  return out;
}

std::unique_ptr<BlobReader> ArchiveSource::open_file(const std::string& name) const {
  std::string real = resolve(name);
  if (!is_dir_ || real.empty()) throw Error(path_.string() + ": " + name + " is missing from the archive");
  UniqueFd dirfd(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) throw_sys("open", path_);
  return std::make_unique<FdReader>(open_beneath(dirfd.get(), real, path_), entries_.at(real).size, real);
}

std::set<std::string> ArchiveSource::stream(const std::set<std::string>& wanted, const StreamFn& fn) {
  // Several names may resolve to one entry through symlinks: stream it once,
  // under its real name.
  std::set<std::string> real_names;
  for (const auto& w : wanted)
    if (auto real = resolve(w); !real.empty()) real_names.insert(real);
  std::set<std::string> seen;
  if (real_names.empty()) return seen;

  if (is_dir_) {
    UniqueFd dirfd(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) throw_sys("open", path_);
    for (const auto& real : real_names) {
      FdReader reader(open_beneath(dirfd.get(), real, path_), entries_.at(real).size, real);
      fn(real, reader);
      seen.insert(real);
    }
    return seen;
  }

  auto a = open_tar();
  archive_entry* e;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) throw_archive(path_, a.get(), "read");
    const char* raw = archive_entry_pathname(e);
    if (!raw || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) continue;
    std::string name;
    try {
      name = normalize_archive_name(raw);
    } catch (const Error&) {
      continue;
    }
    if (!real_names.count(name) || seen.count(name)) continue;
    TarEntryReader reader(a.get(), entries_.at(name).size, path_);
    fn(name, reader);
    seen.insert(name);
    if (seen.size() == real_names.size()) break;
  }
  return seen;
}

}  // namespace mctr::image
