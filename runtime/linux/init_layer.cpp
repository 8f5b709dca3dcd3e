#include "linux/init_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>

#include "util/error.h"
#include "util/fs.h"
#include "util/scope_guard.h"

namespace mctr::rootfs {

namespace {

const char* const kDirs[] = {"etc", "proc", "sys", "dev"};
const char* const kEtcFiles[] = {"hostname", "hosts", "resolv.conf"};

struct DirAttrs {
  mode_t mode = 0755;
  uid_t uid = 0;
  gid_t gid = 0;
};

// What the merged view shows at /<name>: the entry of the topmost layer
// that has one. An overlay whiteout (a 0:0 character device) there means the
// image deleted it. nullopt: it exists and is not a directory.
std::optional<DirAttrs> image_dir_attrs(const std::vector<std::string>& layer_dirs, const char* name) {
  for (auto it = layer_dirs.rbegin(); it != layer_dirs.rend(); ++it) {
    struct stat st;
    if (::lstat((std::filesystem::path(*it) / name).c_str(), &st) < 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return DirAttrs{};  // whiteout
    if (!S_ISDIR(st.st_mode)) return std::nullopt;
    return DirAttrs{st.st_mode & 07777, st.st_uid, st.st_gid};
  }
  return DirAttrs{};  // not in the image: made like Docker makes it
}

void make_dir(const std::filesystem::path& p, const DirAttrs& a) {
  check_sys(::mkdir(p.c_str(), 0700), "mkdir", p);
  check_sys(::chown(p.c_str(), a.uid, a.gid), "chown", p);
  check_sys(::chmod(p.c_str(), a.mode), "chmod", p);  // after chown, which clears setgid
}

}  // namespace

std::optional<std::filesystem::path> init_layer(const std::filesystem::path& cache_dir,
                                                const std::vector<std::string>& layer_dirs) {
  DirAttrs attrs[std::size(kDirs)];
  std::string key = "v1";
  for (size_t i = 0; i < std::size(kDirs); ++i) {
    auto a = image_dir_attrs(layer_dirs, kDirs[i]);
    if (!a) return std::nullopt;
    attrs[i] = *a;
    char part[64];
    std::snprintf(part, sizeof part, "-%o.%u.%u", static_cast<unsigned>(a->mode), a->uid, a->gid);
    key += part;
  }
  auto dir = cache_dir / key;
  if (std::filesystem::is_directory(dir)) return dir;

  // Build it under a temporary name, then rename: a concurrent start sees
  // no layer or a whole one.
  fs::mkdir_p(cache_dir, 0700);
  auto tmp = cache_dir / (".tmp-" + key + "-" + std::to_string(::getpid()));
  fs::remove_tree(tmp);
  check_sys(::mkdir(tmp.c_str(), 0755), "mkdir", tmp);
  ScopeGuard remove_tmp([&] { fs::remove_tree(tmp); });
  for (size_t i = 0; i < std::size(kDirs); ++i) make_dir(tmp / kDirs[i], attrs[i]);
  for (const char* f : kEtcFiles) {
    auto p = tmp / "etc" / f;
    int fd = check_sys(::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644), "open", p);
    ::close(fd);
  }
  if (::rename(tmp.c_str(), dir.c_str()) < 0 && errno != EEXIST && errno != ENOTEMPTY)
    throw_sys("rename", dir);  // EEXIST/ENOTEMPTY: another start made it first
  return dir;
}

}  // namespace mctr::rootfs
