#include "build/copy_step.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>

#include "build/layer_tar.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/openat2.h"

namespace mctr::build {

namespace sfs = std::filesystem;
using Owner = std::optional<std::pair<uid_t, gid_t>>;

namespace {

// ------------------------------------------------------------- the child --

// Run `fn` in a forked child with its own mount namespace; its result (or
// its error) comes back over a pipe. The child's mounts die with it.
std::string in_private_mounts(const std::function<std::string()>& fn) {
  int p[2];
  check_sys(::pipe2(p, O_CLOEXEC), "pipe2");
  UniqueFd r(p[0]), w(p[1]);
  pid_t pid = check_sys(::fork(), "fork");
  if (pid == 0) {
    r.reset();
    std::string msg;
    int rc = 0;
    try {
      check_sys(::unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
      check_sys(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "mount --make-rprivate", "/");
      msg = fn();
    } catch (const std::exception& e) {
      msg = e.what();
      rc = 1;
    }
    for (size_t off = 0; off < msg.size();) {
      ssize_t n = ::write(w.get(), msg.data() + off, msg.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::_exit(rc);
  }
  w.reset();
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(out.empty() ? "the copy process died (status " + std::to_string(status) + ")" : out);
  return out;
}

// ------------------------------------------------------------- the views --

// A stage's files, read-only: an overlay of its layers.
class View {
 public:
  View(const std::vector<std::string>& layers, const sfs::path& mnt, const sfs::path& empty) : mnt_(mnt) {
    fs::mkdir_p(mnt, 0700);
    fs::mkdir_p(empty, 0700);
    // The top layer comes first; the empty dir at the bottom makes two lower
    // dirs, which overlayfs wants when there is no upper dir. Layer dirs are
    // named relative to their directory (we chdir there: we are the child),
    // so ~60 layers fit in the one page overlayfs takes its options in.
    sfs::path base = sfs::path(layers.front()).parent_path();
    check_sys(::chdir(base.c_str()), "chdir", base);
    std::string lower;
    for (size_t i = layers.size(); i-- > 0;) {
      sfs::path l(layers[i]);
      lower += (l.parent_path() == base ? l.filename().string() : l.string()) + ":";
    }
    lower += empty.string();
    std::string opts = "lowerdir=" + lower;
    check_sys(::mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, opts.c_str()), "mount overlay", mnt);
    root_.reset(check_sys(::open(mnt.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", mnt));
  }

  // The real path of `rel` in the view (symlinks followed inside it), or nullopt.
  std::optional<sfs::path> host_path(const std::string& rel, bool follow_last = true) const {
    UniqueFd f = fs::try_open_in_root(root_.get(), rel, O_PATH | (follow_last ? 0 : O_NOFOLLOW));
    if (!f) return std::nullopt;
    return sfs::read_symlink("/proc/self/fd/" + std::to_string(f.get()));
  }
  // `rel` with its existing part resolved ("bin/x" -> "usr/bin/x" when bin -> usr/bin).
  std::string canonical(const std::string& rel) const {
    std::vector<std::string> parts;
    for (const auto& c : sfs::path(rel)) parts.push_back(c.string());
    for (size_t n = parts.size() + 1; n-- > 0;) {
      sfs::path prefix;
      for (size_t i = 0; i < n; ++i) prefix /= parts[i];
      auto real = host_path(prefix.string());
      if (!real) continue;
      std::string out = layer_path(real->lexically_relative(mnt_).string());
      for (size_t i = n; i < parts.size(); ++i) out = out.empty() ? parts[i] : out + "/" + parts[i];
      return out;
    }
    return rel;
  }
  const sfs::path& mnt() const { return mnt_; }
  int root_fd() const { return root_.get(); }

 private:
  sfs::path mnt_;
  UniqueFd root_;
};

// ----------------------------------------------------------------- owner --

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// Field `field` of the line of `file` (/etc/passwd, /etc/group) whose
// first field is `name`.
std::optional<std::string> lookup(const View* v, const char* file, const std::string& name, int field) {
  if (!v) return std::nullopt;
  auto text = fs::read_untrusted_file(file, v->root_fd());
  if (!text) return std::nullopt;
  size_t i = 0;
  while (i < text->size()) {
    size_t j = text->find('\n', i);
    if (j == std::string::npos) j = text->size();
    std::string line = text->substr(i, j - i);
    i = j + 1;
    std::vector<std::string> f;
    size_t s = 0;
    for (size_t c; (c = line.find(':', s)) != std::string::npos; s = c + 1)
      f.push_back(line.substr(s, c - s));
    f.push_back(line.substr(s));
    if (f.size() > static_cast<size_t>(field) && f[0] == name) return f[static_cast<size_t>(field)];
  }
  return std::nullopt;
}

std::pair<uid_t, gid_t> resolve_chown(const std::string& spec, const View* stage) {
  size_t colon = spec.find(':');
  std::string user = spec.substr(0, colon), group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  uid_t uid;
  gid_t gid;
  if (all_digits(user)) {
    uid = static_cast<uid_t>(std::stoul(user));
    gid = uid;
  } else {
    auto u = lookup(stage, "/etc/passwd", user, 2), g = lookup(stage, "/etc/passwd", user, 3);
    if (!u || !g || !all_digits(*u) || !all_digits(*g))
      throw Error("unable to convert uid/gid chown string to host mapping: no such user: " + user);
    uid = static_cast<uid_t>(std::stoul(*u));
    gid = static_cast<gid_t>(std::stoul(*g));
  }
  if (!group.empty()) {
    if (all_digits(group)) {
      gid = static_cast<gid_t>(std::stoul(group));
    } else {
      auto g = lookup(stage, "/etc/group", group, 2);
      if (!g || !all_digits(*g))
        throw Error("unable to convert uid/gid chown string to host mapping: no such group: " + group);
      gid = static_cast<gid_t>(std::stoul(*g));
    }
  }
  return {uid, gid};
}

// ------------------------------------------------------------------- ADD --

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

std::unique_ptr<archive, ReadFree> open_tar(const sfs::path& p) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), p.c_str(), 64 << 10) != ARCHIVE_OK) return nullptr;
  return a;
}

// In the child: unpack into `dir` (we chdir there); libarchive's secure
// flags keep every entry inside it.
void unpack_tar(const sfs::path& tar, const sfs::path& dir) {
  fs::mkdir_p(dir, 0755);
  check_sys(::chdir(dir.c_str()), "chdir", dir);
  auto in = open_tar(tar);
  if (!in) throw Error("ADD: cannot read " + tar.string() + " as a tar");
  std::unique_ptr<archive, WriteFree> out(archive_write_disk_new());
  archive_write_disk_set_options(out.get(),
                                 ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
                                     ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                     ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK);
  auto why = [](archive* a, const char* fallback) {
    const char* m = archive_error_string(a);
    return std::string(m ? m : fallback);
  };
  archive_entry* e;
  for (;;) {
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) throw Error("ADD: " + tar.string() + ": " + why(in.get(), "corrupt tar"));
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN)
      throw Error("ADD: " + tar.string() + ": " + why(out.get(), "cannot unpack"));
    const void* buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
      r = archive_read_data_block(in.get(), &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) throw Error("ADD: " + tar.string() + ": " + why(in.get(), "corrupt tar"));
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_WARN)
        throw Error("ADD: " + tar.string() + ": " + why(out.get(), "cannot unpack"));
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
      throw Error("ADD: " + tar.string() + ": " + why(out.get(), "cannot unpack"));
  }
}

// ------------------------------------------------------------ the layer --

class CopyLayer {
 public:
  CopyLayer(const View* stage, Owner owner) : stage_(stage), owner_(std::move(owner)) {}

  // Parents of `rel` (and `rel` itself with `self`): from the stage with
  // their owner and mode, else new ones (0755, the --chown owner or root).
  void ensure_dirs(const std::string& rel, bool self) {
    std::vector<std::string> parts;
    for (const auto& c : sfs::path(rel)) parts.push_back(c.string());
    std::string cur;
    for (size_t i = 0; i < parts.size() - (self ? 0 : 1) && i < parts.size(); ++i) {
      cur = cur.empty() ? parts[i] : cur + "/" + parts[i];
      if (tar.has(cur)) continue;
      TarEntry d;
      d.type = TarEntry::Type::kDir;
      d.mode = 0755;
      d.uid = owner_ ? owner_->first : 0;
      d.gid = owner_ ? owner_->second : 0;
      struct stat st;
      if (stage_ && ::lstat((stage_->mnt() / cur).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        d.mode = st.st_mode & 07777;
        d.uid = st.st_uid;
        d.gid = st.st_gid;
      }
      tar.add(cur, d);
    }
  }

  void copy(const sfs::path& host, const std::string& name, const std::string& dest, bool dest_dir,
            const Owner& owner, const std::function<bool(const std::string&)>& skip) {
    struct stat st;
    check_sys(::lstat(host.c_str(), &st), "lstat", host);
    if (S_ISDIR(st.st_mode)) {  // its content goes into dest
      ensure_dirs(dest, true);
      tar.add_tree(host, dest, owner, skip);
      return;
    }
    std::string target = dest_dir ? (dest.empty() ? name : dest + "/" + name) : dest;
    ensure_dirs(target, false);
    tar.add_host_entry(host, target, owner);
  }

  LayerTar tar;

 private:
  const View* stage_;
  Owner owner_;
};

bool has_wildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// --from sources: (real path in the source view, name at the destination).
std::vector<std::pair<sfs::path, std::string>> from_sources(const CopySpec& s, const View* from) {
  std::vector<std::pair<sfs::path, std::string>> out;
  for (const auto& p : s.from_paths) {
    std::string rel = layer_path(p);
    std::string name = sfs::path(rel).filename().string();
    if (!has_wildcard(name)) {
      auto host = from ? from->host_path(rel) : std::nullopt;
      if (!host) throw Error(s.keyword + " failed: " + p + ": not found in the source stage");
      out.emplace_back(*host, name);
      continue;
    }
    std::string parent = sfs::path(rel).parent_path().string();
    auto dir = from ? from->host_path(parent) : std::nullopt;
    size_t before = out.size();
    std::error_code ec;
    if (dir)
      for (const auto& e : sfs::directory_iterator(*dir, ec)) {
        std::string n = e.path().filename().string();
        if (::fnmatch(name.c_str(), n.c_str(), 0) == 0) out.emplace_back(e.path(), n);
      }
    if (out.size() == before) throw Error(s.keyword + " failed: no source files were specified (" + p + ")");
  }
  return out;
}

std::string build_layer(const CopySpec& s, const sfs::path& work, const sfs::path& out, int64_t mtime) {
  std::optional<View> stage, from;
  if (!s.stage_layers.empty()) stage.emplace(s.stage_layers, work / "stage", work / "empty");
  if (s.from_layers && !s.from_layers->empty()) from.emplace(*s.from_layers, work / "from", work / "empty");
  Owner chown;
  if (!s.chown.empty()) chown = resolve_chown(s.chown, stage ? &*stage : nullptr);

  std::string dest = layer_path(s.dest);
  if (stage) dest = stage->canonical(dest);
  bool dest_dir = s.dest_is_dir || s.dest.ends_with("/") || dest.empty();
  struct stat st;
  if (stage && ::stat((stage->mnt() / dest).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) dest_dir = true;

  CopyLayer layer(stage ? &*stage : nullptr, chown);
  if (s.from_layers) {
    auto srcs = from_sources(s, from ? &*from : nullptr);
    if (srcs.size() > 1 && !dest_dir)
      throw Error("When using " + s.keyword +
                  " with more than one source file, the destination must be a directory and end with a /");
    // From another stage, owners stay as they were (unless --chown).
    for (const auto& [host, name] : srcs) layer.copy(host, name, dest, dest_dir, chown, {});
  } else {
    if (s.sources.size() > 1 && !dest_dir)
      throw Error("When using " + s.keyword +
                  " with more than one source file, the destination must be a directory and end with a /");
    int n = 0;
    for (const auto& src : s.sources) {
      Owner owner = chown ? chown : Owner(std::make_pair(uid_t{0}, gid_t{0}));
      if (src.unpack) {
        sfs::path dir = work / ("add-" + std::to_string(n++));
        unpack_tar(src.host, dir);
        layer.ensure_dirs(dest, true);
        layer.tar.add_tree(dir, dest, chown);  // owners as in the tar unless --chown
        continue;
      }
      auto skip = [&](const std::string& sub) {
        return s.context && s.context->ignored(src.context_rel.empty() ? sub : src.context_rel + "/" + sub);
      };
      layer.copy(src.host, src.name, dest, dest_dir, owner, skip);
    }
  }
  return layer.tar.write(out, mtime);
}

}  // namespace

bool is_tar_archive(const sfs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return false;
  auto a = open_tar(p);
  if (!a) return false;
  archive_entry* e;
  return archive_read_next_header(a.get(), &e) == ARCHIVE_OK;
}

std::string write_copy_layer(const CopySpec& spec, const sfs::path& work, const sfs::path& out_tar,
                             int64_t mtime) {
  return in_private_mounts([&] { return build_layer(spec, work, out_tar, mtime); });
}

}  // namespace mctr::build
