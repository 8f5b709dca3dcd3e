#include "build/layer_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "image/digest.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::build {

namespace sfs = std::filesystem;

namespace {

constexpr const char* kOverlayXattrPrefix = "trusted.overlay.";

std::string join_path(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "/" + name;
}

std::map<std::string, std::string> read_xattrs(const sfs::path& p) {
  std::map<std::string, std::string> out;
  ssize_t n = ::llistxattr(p.c_str(), nullptr, 0);
  if (n <= 0) return out;
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(p.c_str(), names.data(), names.size());
  if (n <= 0) return out;
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name = names.c_str() + i;
    i += name.size() + 1;
    if (name.starts_with(kOverlayXattrPrefix)) continue;  // overlay's bookkeeping, not the file's
    ssize_t len = ::lgetxattr(p.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) continue;
    std::string value(static_cast<size_t>(len), '\0');
    len = ::lgetxattr(p.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) continue;
    value.resize(static_cast<size_t>(len));
    out[name] = value;
  }
  return out;
}

bool is_opaque_dir(const sfs::path& p) {
  char v[4];
  ssize_t n = ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

struct Sink {
  int fd = -1;
  image::Sha256 hash;
  std::string error;
};

la_ssize_t sink_write(archive*, void* ud, const void* buf, size_t n) {
  auto* s = static_cast<Sink*>(ud);
  const char* p = static_cast<const char*>(buf);
  size_t left = n;
  while (left > 0) {
    ssize_t w = ::write(s->fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      s->error = std::string("write: ") + std::strerror(errno);
      return -1;
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  s->hash.update(buf, n);
  return static_cast<la_ssize_t>(n);
}

[[noreturn]] void fail(archive* a, const Sink& s, const std::string& what) {
  const char* msg = archive_error_string(a);
  throw Error("writing layer tar: " + what + ": " +
              (!s.error.empty() ? s.error
               : msg            ? msg
                                : "unknown error"));
}

}  // namespace

std::string layer_path(const std::string& abs) {
  std::string norm = sfs::path("/" + abs).lexically_normal().string();
  while (!norm.empty() && norm.front() == '/') norm.erase(0, 1);
  while (!norm.empty() && norm.back() == '/') norm.pop_back();
  return norm == "." ? "" : norm;
}

void LayerTar::add_host_entry(const sfs::path& host, const std::string& path,
                              const std::optional<std::pair<uid_t, gid_t>>& owner) {
  struct stat st;
  check_sys(::lstat(host.c_str(), &st), "lstat", host);
  sfs::path parent = sfs::path(path).parent_path();
  std::string name = sfs::path(path).filename();
  TarEntry e;
  e.mode = st.st_mode & 07777;
  e.uid = owner ? owner->first : st.st_uid;
  e.gid = owner ? owner->second : st.st_gid;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      e.type = TarEntry::Type::kFile;
      e.data = host;
      if (st.st_nlink > 1) e.inode = std::make_pair(st.st_dev, st.st_ino);
      break;
    case S_IFDIR:
      e.type = TarEntry::Type::kDir;
      if (is_opaque_dir(host)) {
        TarEntry marker;
        marker.type = TarEntry::Type::kOpaque;
        marker.mode = 0;
        add(join_path(path, ".wh..wh..opq"), marker);
      }
      break;
    case S_IFLNK: {
      e.type = TarEntry::Type::kSymlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = check_sys(::readlink(host.c_str(), target.data(), target.size()), "readlink", host);
      target.resize(static_cast<size_t>(n));
      e.link = target;
      break;
    }
    case S_IFCHR:
      if (st.st_rdev == makedev(0, 0)) {  // an overlay whiteout: NAME was deleted
        TarEntry wh;
        wh.type = TarEntry::Type::kWhiteout;
        wh.mode = 0;
        add(join_path(parent.string(), ".wh." + name), wh);
        return;
      }
      e.type = TarEntry::Type::kChar;
      e.rdev = st.st_rdev;
      break;
    case S_IFBLK:
      e.type = TarEntry::Type::kBlock;
      e.rdev = st.st_rdev;
      break;
    case S_IFIFO:
      e.type = TarEntry::Type::kFifo;
      break;
    default:
      return;  // sockets: a tar cannot hold them
  }
  e.xattrs = read_xattrs(host);
  add(path, std::move(e));
}

void LayerTar::add_tree(const sfs::path& dir, const std::string& prefix,
                        const std::optional<std::pair<uid_t, gid_t>>& owner,
                        const std::function<bool(const std::string& sub)>& skip, const std::string& sub) {
  UniqueFd fd(check_sys(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", dir));
  DIR* d = ::fdopendir(fd.get());
  if (!d) throw_sys("fdopendir", dir);
  fd.release();
  std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
  std::vector<std::pair<std::string, bool>> children;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    children.emplace_back(name, de->d_type == DT_DIR);
  }
  for (const auto& [name, is_dir] : children) {
    sfs::path host = dir / name;
    std::string path = join_path(prefix, name);
    std::string child_sub = join_path(sub, name);
    if (skip && skip(child_sub)) continue;
    add_host_entry(host, path, owner);
    struct stat st;
    if (::lstat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) add_tree(host, path, owner, skip, child_sub);
  }
}

void LayerTar::merge_over(const LayerTar& upper) {
  // Paths below `dir` (not `dir` itself) are one range of the sorted map.
  auto erase_below = [&](const std::string& dir) {
    std::string prefix = dir.empty() ? "" : dir + "/";
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix);)
      it = entries_.erase(it);
  };
  for (const auto& [path, e] : upper.entries_) {
    std::string dir = sfs::path(path).parent_path().string();
    if (e.type == TarEntry::Type::kOpaque) {
      erase_below(dir);
    } else if (e.type == TarEntry::Type::kWhiteout) {
      std::string gone = join_path(dir, sfs::path(path).filename().string().substr(4));  // ".wh.NAME"
      entries_.erase(gone);
      erase_below(gone);
    }
  }
  for (const auto& [path, e] : upper.entries_)
    if (e.type != TarEntry::Type::kOpaque && e.type != TarEntry::Type::kWhiteout) entries_[path] = e;
}

std::string LayerTar::write(const sfs::path& out, int64_t mtime) const {
  UniqueFd fd(check_sys(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", out));
  Sink sink;
  sink.fd = fd.get();
  std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open2(a.get(), &sink, nullptr, sink_write, nullptr, nullptr) != ARCHIVE_OK)
    fail(a.get(), sink, "open");
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  std::vector<char> buf(256 << 10);
  for (const auto& [path, e] : entries_) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> ent(archive_entry_new(), archive_entry_free);
    archive_entry* x = ent.get();
    archive_entry_set_pathname(x, path.c_str());
    archive_entry_set_uid(x, e.uid);
    archive_entry_set_gid(x, e.gid);
    archive_entry_set_mtime(x, mtime, 0);
    for (const auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(x, k.c_str(), v.data(), v.size());
    UniqueFd data;
    switch (e.type) {
      case TarEntry::Type::kFile: {
        if (e.inode) {
          auto [it, first] = first_link.emplace(*e.inode, path);
          if (!first) {
            archive_entry_set_filetype(x, AE_IFREG);
            archive_entry_set_perm(x, e.mode);
            archive_entry_set_hardlink(x, it->second.c_str());
            archive_entry_set_size(x, 0);
            break;
          }
        }
        data.reset(check_sys(::open(e.data.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open", e.data));
        struct stat st;
        check_sys(::fstat(data.get(), &st), "fstat", e.data);
        archive_entry_set_filetype(x, AE_IFREG);
        archive_entry_set_perm(x, e.mode);
        archive_entry_set_size(x, st.st_size);
        break;
      }
      case TarEntry::Type::kDir:
        archive_entry_set_filetype(x, AE_IFDIR);
        archive_entry_set_perm(x, e.mode);
        break;
      case TarEntry::Type::kSymlink:
        archive_entry_set_filetype(x, AE_IFLNK);
        archive_entry_set_perm(x, 0777);
        archive_entry_set_symlink(x, e.link.c_str());
        break;
      case TarEntry::Type::kHardlink:
        archive_entry_set_filetype(x, AE_IFREG);
        archive_entry_set_perm(x, e.mode);
        archive_entry_set_hardlink(x, e.link.c_str());
        break;
      case TarEntry::Type::kChar:
      case TarEntry::Type::kBlock:
        archive_entry_set_filetype(x, e.type == TarEntry::Type::kChar ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_perm(x, e.mode);
        archive_entry_set_rdevmajor(x, major(e.rdev));
        archive_entry_set_rdevminor(x, minor(e.rdev));
        break;
      case TarEntry::Type::kFifo:
        archive_entry_set_filetype(x, AE_IFIFO);
        archive_entry_set_perm(x, e.mode);
        break;
      case TarEntry::Type::kWhiteout:
      case TarEntry::Type::kOpaque:
        archive_entry_set_filetype(x, AE_IFREG);
        archive_entry_set_perm(x, 0);
        archive_entry_set_size(x, 0);
        break;
    }
    if (archive_write_header(a.get(), x) != ARCHIVE_OK) fail(a.get(), sink, path);
    if (data) {
      int64_t left = archive_entry_size(x);
      while (left > 0) {
        ssize_t n = ::read(data.get(), buf.data(), std::min<size_t>(buf.size(), static_cast<size_t>(left)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read", e.data);
        if (n == 0) throw Error("writing layer tar: " + e.data.string() + " shrank while it was read");
        if (archive_write_data(a.get(), buf.data(), static_cast<size_t>(n)) != n) fail(a.get(), sink, path);
        left -= n;
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) fail(a.get(), sink, "close");
  return sink.hash.digest();
}

}  // namespace mctr::build
