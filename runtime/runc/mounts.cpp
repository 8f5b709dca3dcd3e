#include "runc/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "linux/cgroup/detect.h"
#include "linux/in_root.h"
#include "linux/rootfs.h"
#include "linux/security/security.h"
#include "runc/log.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/mountinfo.h"
#include "util/openat2.h"

namespace mctr::runc {

namespace {

struct FlagWord {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr FlagWord kFlags[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

constexpr std::pair<const char*, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};

// Options that only concern other runtimes or the caller, never mount(2).
bool ignored_option(const std::string& o) { return o == "tmpcopyup" || o == "nocopyup" || o == "copyup"; }

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void apply_propagation(int fd, const std::vector<unsigned long>& propagation, const std::string& shown) {
  for (unsigned long p : propagation)
    check_sys(::mount(nullptr, fd_path(fd).c_str(), nullptr, p, nullptr), "mount(propagation)", shown);
}

bool source_is_dir(const oci::Mount& m) {
  struct stat st;
  if (::stat(m.source.c_str(), &st) < 0) throw_sys("stat", m.source);
  return S_ISDIR(st.st_mode);
}

void mount_bind(const oci::Mount& m, const MountOptions& o, const std::string& rootfs) {
  const bool is_dir = source_is_dir(m);
  const std::string shown = rootfs + m.destination;
  UniqueFd target = rootfs::mount_in_root(m.source.c_str(), rootfs, m.destination, nullptr,
                                          MS_BIND | (o.flags & MS_REC), "", is_dir);
  // A bind takes the source's flags; ro, nosuid, ... need a remount of the new mount.
  const unsigned long extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (extra != 0) {
    unsigned long flags =
        MS_BIND | MS_REMOUNT | extra | (security::locked_mount_flags(fd_path(target.get())) & ~o.clear);
    check_sys(::mount(nullptr, fd_path(target.get()).c_str(), nullptr, flags, nullptr), "mount(remount)",
              shown);
  }
  apply_propagation(target.get(), o.propagation, shown);
}

void mount_filesystem(const oci::Mount& m, const MountOptions& o, const std::string& rootfs) {
  const std::string shown = rootfs + m.destination;
  if (m.type == "proc" || m.type == "sysfs") {
    // Only on a real directory (CVE-2019-19921: a symlinked /proc could be
    // pointed later at files the container made). open_in_root resolves
    // inside the root; a symlink there is refused by lstat below.
    struct stat st;
    std::string host_path = rootfs + m.destination;
    if (::lstat(host_path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
      throw Error(m.destination + ": filesystem \"" + m.type + "\" must be mounted on an ordinary directory");
  }
  const char* src = m.source.empty() ? m.type.c_str() : m.source.c_str();
  UniqueFd target =
      rootfs::mount_in_root(src, rootfs, m.destination, m.type.c_str(), o.flags & ~MS_REMOUNT, o.data, true);
  apply_propagation(target.get(), o.propagation, shown);
}

// A v2 or v1 cgroup mount is put off until the init has its cgroup (and namespace).
bool is_cgroup_mount(const oci::Mount& m) { return m.type == "cgroup" || m.type == "cgroup2"; }

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& opt : options) {
    if (ignored_option(opt)) continue;
    if (opt == "idmap" || opt == "ridmap") throw Error("mount option \"" + opt + "\" is not supported");
    auto f =
        std::find_if(std::begin(kFlags), std::end(kFlags), [&](const FlagWord& w) { return opt == w.name; });
    if (f != std::end(kFlags)) {
      if (f->clear) {
        out.flags &= ~f->flag;
        out.clear |= f->flag;
      } else {
        out.flags |= f->flag;
        out.clear &= ~f->flag;
      }
      continue;
    }
    auto p = std::find_if(std::begin(kPropagation), std::end(kPropagation),
                          [&](const auto& w) { return opt == w.first; });
    if (p != std::end(kPropagation)) {
      out.propagation.push_back(p->second);
      continue;
    }
    out.data += (out.data.empty() ? "" : ",") + opt;
  }
  return out;
}

bool is_bind_mount(const oci::Mount& m) {
  return m.type == "bind" || std::find(m.options.begin(), m.options.end(), "bind") != m.options.end() ||
         std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end();
}

static unsigned long propagation_flag(const std::string& name) {
  for (auto [n, f] : kPropagation)
    if (name == n) return f;
  throw Error("config.json: linux.rootfsPropagation: unknown propagation \"" + name + "\"");
}

MountPlan mount_rootfs(const oci::Spec& spec, const std::string& rootfs, MountNamespace where) {
  MountPlan plan;
  // Our mount namespace starts as a copy of the runtime's: with shared
  // propagation, each mount below would show up on the host as well.
  if (where == MountNamespace::kContainers) {
    const std::string& prop = spec.linux_->rootfs_propagation;
    unsigned long root_flag = prop.empty() ? (MS_SLAVE | MS_REC) : propagation_flag(prop);
    if (root_flag & MS_SHARED) root_flag = MS_SLAVE | MS_REC;  // made shared again in the new root
    check_sys(::mount(nullptr, "/", nullptr, root_flag, nullptr), "mount(make-rslave)", "/");
  }
  // pivot_root needs the new root to be a mount point, and a private parent
  // (the rootfs may sit on a shared mount of the host's).
  check_sys(::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr), "mount(bind)",
            rootfs);
  check_sys(::mount(nullptr, rootfs.c_str(), nullptr, MS_PRIVATE, nullptr), "mount(make-private)", rootfs);

  for (const auto& m : spec.mounts) {
    if (m.destination.empty() || m.destination.front() != '/')
      throw Error("config.json: mounts: destination \"" + m.destination + "\" is not absolute");
    MountOptions o = parse_mount_options(m.options);
    if (is_cgroup_mount(m)) {
      plan.cgroup_mount = true;
      plan.cgroup_read_only = (o.flags & MS_RDONLY) != 0;
      continue;
    }
    try {
      if (is_bind_mount(m)) {
        if (m.destination == "/dev") plan.dev_is_bind = true;
        mount_bind(m, o, rootfs);
      } else {
        mount_filesystem(m, o, rootfs);
      }
    } catch (const Error& e) {
      throw Error(std::string("mount ") + m.source + " to " + m.destination + " (type " +
                  (m.type.empty() ? "bind" : m.type) + "): " + e.what());
    }
  }
  if (!plan.dev_is_bind) rootfs::create_default_devices(rootfs);
  return plan;
}

void unmount_host_mounts(const std::string& rootfs) {
  const std::filesystem::path root(rootfs);
  std::vector<std::filesystem::path> below;  // relative to the rootfs, "." for itself
  for (const auto& m : fs::read_mountinfo()) {
    auto rel = m.mount_point.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != "..") below.push_back(rel);
  }
  // Deepest first; a mount point stacked twice is listed (and unmounted) twice.
  std::sort(below.begin(), below.end(),
            [](const auto& a, const auto& b) { return a.native().size() > b.native().size(); });
  UniqueFd root_fd(check_sys(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", rootfs));
  for (const auto& rel : below) {
    // The container may have swapped a directory on the way for a symlink
    // to a host path: the mount is looked up beneath the rootfs with no
    // symlink followed, and unmounted through its fd.
    UniqueFd at = fs::openat2_retrying(root_fd.get(), rel.string(), O_PATH,
                                       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!at) {
      log_warning("left mounted: " + (root / rel).string() + " (" + std::strerror(errno) + ")");
      continue;
    }
    if (::umount2(fd_path(at.get()).c_str(), MNT_DETACH) < 0 && errno != EINVAL)
      throw_sys("umount2", (root / rel).string());
  }
}

void bind_host_cgroups(const std::string& rootfs, const std::string& group, bool read_only) {
  const unsigned long ro = read_only ? MS_RDONLY : 0;
  const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  cgroup::HostLayout host = cgroup::detect_layout();
  if (host.layout == cgroup::Layout::kUnified) {
    UniqueFd t = rootfs::mount_in_root((host.unified / group).c_str(), rootfs, "/sys/fs/cgroup", nullptr,
                                       MS_BIND | MS_REC, "", true);
    check_sys(::mount(nullptr, fd_path(t.get()).c_str(), nullptr, MS_BIND | MS_REMOUNT | flags | ro, nullptr),
              "mount(remount)", rootfs + "/sys/fs/cgroup");
    return;
  }
  UniqueFd dir = rootfs::mount_in_root("tmpfs", rootfs, "/sys/fs/cgroup", "tmpfs", flags, "mode=755", true);
  std::set<std::filesystem::path> done;
  for (const auto& [controller, mount] : host.v1) {
    if (!done.insert(mount).second) continue;
    std::filesystem::path source = mount / group;
    if (!std::filesystem::is_directory(source)) continue;  // a hierarchy we made no group in
    const std::string name = mount.filename().string();
    const std::string shown = rootfs + "/sys/fs/cgroup/" + name;
    check_sys(::mkdirat(dir.get(), name.c_str(), 0755), "mkdirat", shown);
    rootfs::mount_under(dir.get(), name.c_str(), shown, source.c_str(), nullptr, MS_BIND);
    UniqueFd t(check_sys(::openat(dir.get(), name.c_str(), O_PATH | O_CLOEXEC), "openat", shown));
    check_sys(::mount(nullptr, fd_path(t.get()).c_str(), nullptr, MS_BIND | MS_REMOUNT | flags | ro, nullptr),
              "mount(remount)", shown);
  }
  if (read_only)
    check_sys(
        ::mount(nullptr, fd_path(dir.get()).c_str(), nullptr, MS_REMOUNT | flags | MS_RDONLY, "mode=755"),
        "mount(remount)", rootfs + "/sys/fs/cgroup");
}

void set_root_propagation(const std::string& propagation) {
  if (propagation.empty()) return;
  check_sys(::mount(nullptr, "/", nullptr, propagation_flag(propagation), nullptr), "mount(propagation)",
            "/");
}

}  // namespace mctr::runc
