#include "linux/rootfs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sstream>

#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::rootfs {

namespace stdfs = std::filesystem;

namespace {

// overlayfs takes all of its options in one page. The full lower dir paths
// fit for most images; with many layers they do not, and the mount uses
// l/N symlinks to the layers instead, from inside l/ (Docker's overlay2 does
// the same). Upper and work paths always stay absolute.
constexpr size_t kMountOptionsMax = 4096;

std::string lowerdir_list(const Spec& s, bool short_names) {
  if (s.layer_dirs.empty()) return (s.container_dir / "empty").string();
  std::string lower;
  // overlayfs lists the TOP layer first.
  for (size_t i = s.layer_dirs.size(); i-- > 0;) {
    if (!lower.empty()) lower += ':';
    lower += short_names ? std::to_string(i) : s.layer_dirs[i];
  }
  return lower;
}

std::string overlay_options(const Spec& s, bool short_names) {
  const auto& d = s.container_dir;
  return "lowerdir=" + lowerdir_list(s, short_names) + ",upperdir=" + (d / "upper").string() +
         ",workdir=" + (d / "work").string();
}

bool needs_short_names(const Spec& s) {
  return overlay_options(s, false).size() + sizeof(",volatile") > kMountOptionsMax;
}

}  // namespace

void prepare_dirs(const Spec& s) {
  const auto& d = s.container_dir;
  fs::mkdir_p(d / "upper", 0755);
  fs::mkdir_p(d / "work", 0700);
  fs::mkdir_p(s.mount_point, 0755);
  if (s.layer_dirs.empty()) fs::mkdir_p(d / "empty", 0755);  // the lower dir of an image without layers
  if (!needs_short_names(s)) return;
  fs::remove_tree(d / "l");
  fs::mkdir_p(d / "l", 0700);
  for (size_t i = 0; i < s.layer_dirs.size(); ++i) {
    auto link = d / "l" / std::to_string(i);
    check_sys(::symlink(s.layer_dirs[i].c_str(), link.c_str()), "symlink", link);
  }
}

// The `mount` command line that does the same as mount(2) with these arguments.
static std::string mount_replay(const char* src, const std::string& target, const char* type,
                                unsigned long flags, const std::string& data) {
  using explain::sh_quote;
  std::string cmd = "mount ";
  if (flags & MS_PRIVATE) {
    cmd += (flags & MS_REC) ? "--make-rprivate " : "--make-private ";
    cmd += target;
    return cmd;
  }
  std::string opts;
  auto add = [&](const std::string& o) {
    if (!opts.empty()) opts += ',';
    opts += o;
  };
  if (flags & MS_REMOUNT) add("remount");
  if ((flags & MS_BIND) && (flags & MS_REMOUNT)) add("bind");
  if (flags & MS_RDONLY) add("ro");
  if (flags & MS_NOSUID) add("nosuid");
  if (flags & MS_NODEV) add("nodev");
  if (flags & MS_NOEXEC) add("noexec");
  if (!data.empty()) add(data);
  if ((flags & MS_BIND) && !(flags & MS_REMOUNT)) {
    cmd += (flags & MS_REC) ? "--rbind " : "--bind ";
    cmd += sh_quote(src);
  } else if (flags & MS_REMOUNT) {
    cmd += "-o ";
    cmd += opts;
  } else {
    cmd += "-t ";
    cmd += type;
    if (!opts.empty()) {
      cmd += " -o ";
      cmd += sh_quote(opts);
    }
    cmd += ' ';
    cmd += src ? src : "none";
  }
  cmd += ' ';
  cmd += sh_quote(target);
  return cmd;
}

static void do_mount(const char* src, const stdfs::path& target, const char* type, unsigned long flags,
                     const std::string& data = "") {
  explain::step("mount(2)", mount_replay(src, target, type, flags, data));
  if (::mount(src, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) < 0)
    throw_sys(std::string("mount ") + (type ? type : "(bind)"), target);
}

void make_mounts_private() {
  // Our mount namespace starts as a copy of the host's; with shared
  // propagation, mounts we make would appear on the host too.
  do_mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE);
}

void mount_overlay(const Spec& s) {
  const auto& d = s.container_dir;
  const bool short_names = needs_short_names(s);
  std::string data = overlay_options(s, short_names);
  if (short_names) {
    check_sys(::chdir((d / "l").c_str()), "chdir", d / "l");
    explain::step("chdir(2)", "cd " + (d / "l").string() + "   # short lowerdir names: l/N -> layer dirs");
  }
  // Unmounting an overlay syncs its whole upper filesystem (the host's
  // disk), and the kernel does that while the container's init exits, before
  // its parent hears of it. "volatile" (Linux 5.10+) skips every sync to the
  // upper dir; after a host crash the dir must be thrown away, which is
  // exactly what --rm does anyway (podman does the same for --rm).
  bool mounted = false;
  if (s.volatile_upper) {
    explain::step("mount(2)", mount_replay("overlay", s.mount_point, "overlay", 0, data + ",volatile"));
    mounted = ::mount("overlay", s.mount_point.c_str(), "overlay", 0, (data + ",volatile").c_str()) == 0;
    if (!mounted && errno != EINVAL) throw_sys("mount overlay", s.mount_point);
    // EINVAL: a kernel without "volatile"; mount as usual.
  }
  if (!mounted) do_mount("overlay", s.mount_point, "overlay", 0, data);
  if (short_names) check_sys(::chdir("/"), "chdir", "/");
}

int open_in_root(const stdfs::path& root, const std::string& path, bool create, bool is_dir) {
  UniqueFd dir(check_sys(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", root));
  stdfs::path rel = stdfs::path(path).lexically_normal().relative_path();
  std::vector<std::string> parts;
  for (const auto& p : rel) parts.push_back(p.string());
  if (parts.empty()) return dir.release();
  for (size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    // Resolve from the root each time, so symlinks in the image stay inside it.
    std::string sofar;
    for (size_t k = 0; k <= i; ++k) sofar += (k ? "/" : "") + parts[k];
    UniqueFd rootfd(check_sys(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", root));
    long fd = ::syscall(SYS_openat2, rootfd.get(), sofar.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOENT && create) {
      // Create the missing component inside its (already resolved) parent.
      if (!last || is_dir) {
        if (::mkdirat(dir.get(), parts[i].c_str(), 0755) < 0 && errno != EEXIST)
          throw_sys("mkdirat", root / sofar);
      } else {
        int f = ::openat(dir.get(), parts[i].c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (f < 0) throw_sys("openat", root / sofar);
        ::close(f);
      }
      fd = ::syscall(SYS_openat2, rootfd.get(), sofar.c_str(), &how, sizeof how);
    }
    if (fd < 0) throw_sys("openat2", root / sofar);
    dir.reset(static_cast<int>(fd));
  }
  return dir.release();
}

// Mount onto a target resolved safely inside the rootfs: the kernel follows
// /proc/self/fd/N to exactly the inode we opened.
static void mount_in_root(const char* src, const stdfs::path& root, const std::string& path, const char* type,
                          unsigned long flags, const std::string& data, bool is_dir) {
  UniqueFd target(open_in_root(root, path, true, is_dir));
  explain::step("openat2+mount",
                mount_replay(src, (root / stdfs::path(path).relative_path()).string(), type, flags, data));
  std::string proc_path = "/proc/self/fd/" + std::to_string(target.get());
  if (::mount(src, proc_path.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) < 0)
    throw_sys(std::string("mount ") + (type ? type : "(bind)"), root / path.substr(path[0] == '/'));
}

static void make_device(const stdfs::path& dev, const char* name, unsigned maj, unsigned min) {
  auto p = dev / name;
  explain::step("mknod(2)",
                "mknod -m 666 " + p.string() + " c " + std::to_string(maj) + " " + std::to_string(min));
  if (::mknod(p.c_str(), S_IFCHR | 0666, makedev(maj, min)) < 0) {
    // In a user namespace mknod is refused: bind the host's node instead.
    int f = check_sys(::open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666), "open", p);
    ::close(f);
    do_mount((stdfs::path("/dev") / name).c_str(), p, nullptr, MS_BIND);
  }
  ::chmod(p.c_str(), 0666);  // mknod's mode is filtered by the umask
}

static void populate_dev(const stdfs::path& dev, const std::string& console) {
  make_device(dev, "null", 1, 3);
  make_device(dev, "zero", 1, 5);
  make_device(dev, "full", 1, 7);
  make_device(dev, "random", 1, 8);
  make_device(dev, "urandom", 1, 9);
  make_device(dev, "tty", 5, 0);
  const std::pair<const char*, const char*> links[] = {
      {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"}};
  for (auto [name, to] : links) {
    explain::step("symlink(2)", std::string("ln -s ") + to + " " + (dev / name).string());
    check_sys(::symlink(to, (dev / name).c_str()), "symlink", dev / name);
  }
  fs::mkdir_p(dev / "pts", 0755);
  // newinstance: the container gets its own pty numbering, not the host's.
  do_mount("devpts", dev / "pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5");
  fs::mkdir_p(dev / "shm", 01777);
  do_mount("shm", dev / "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  fs::mkdir_p(dev / "mqueue", 0755);
  do_mount("mqueue", dev / "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (!console.empty()) {
    auto c = dev / "console";
    int f = check_sys(::open(c.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600), "open", c);
    ::close(f);
    do_mount(console.c_str(), c, nullptr, MS_BIND);
  }
}

void mount_proc_dev_sys(const Spec& s) {
  mount_proc_dev(s);
  mount_sys(s);
}

void mount_proc_dev(const Spec& s) {
  stdfs::path root = s.mount_point;
  // A fresh procfs shows only the processes of the new PID namespace.
  mount_in_root("proc", root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", true);
  mount_in_root("tmpfs", root, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", true);
  populate_dev(root / "dev", s.console);
}

void mount_sys(const Spec& s) {
  stdfs::path root = s.mount_point;
  // sysfs shows the network devices of the mounting process's netns.
  unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (s.new_netns) {
    mount_in_root("sysfs", root, "/sys", "sysfs", ro, "", true);
  } else {
    mount_in_root("/sys", root, "/sys", nullptr, MS_BIND | MS_REC, "", true);
    mount_in_root(nullptr, root, "/sys", nullptr, MS_BIND | MS_REMOUNT | ro, "", true);
  }
}

void mount_binds(const Spec& s) {
  stdfs::path root = s.mount_point;
  for (const auto& b : s.binds) {
    struct stat st;
    check_sys(::stat(b.source.c_str(), &st), "stat", b.source);
    bool is_dir = S_ISDIR(st.st_mode);
    mount_in_root(b.source.c_str(), root, b.destination, nullptr, MS_BIND | MS_REC, "", is_dir);
    if (b.read_only) {
      // A bind mount takes the source's flags; read-only needs a second call.
      mount_in_root(nullptr, root, b.destination, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, "", is_dir);
    }
  }
}

// True when "/" is the kernel's initial rootfs (the initramfs of a VM or
// installer), seen as fstype "rootfs" in /proc/self/mountinfo.
static bool root_is_initramfs() {
  auto info = fs::read_file_if_exists("/proc/self/mountinfo").value_or("");
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS"
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point != "/") continue;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream t(line.substr(dash + 3));
    std::string fstype;
    t >> fstype;
    if (fstype == "rootfs") return true;
  }
  return false;
}

void pivot_into(const stdfs::path& new_root) {
  // pivot_root(".", "."): put the old root on top of the new one, then
  // detach it. Unlike chroot, the host's tree is then unreachable.
  explain::step("pivot_root(2)", "cd " + new_root.string() + " && pivot_root . .");
  check_sys(::chdir(new_root.c_str()), "chdir", new_root);
  if (::syscall(SYS_pivot_root, ".", ".") < 0) {
    if (errno != EINVAL || !root_is_initramfs()) throw_sys("pivot_root", new_root);
    // The host runs from its initramfs (rootfs), which can never be
    // unmounted, so pivot_root refuses. Fall back like `runc --no-pivot`:
    // move the new root over "/" and chroot into it. Weaker than pivot_root
    // (the old root stays underneath), so only used where nothing else works.
    explain::step("mount+chroot", "mount --move . / && chroot .   # pivot_root is refused on an initramfs");
    check_sys(::mount(".", "/", nullptr, MS_MOVE, nullptr), "mount(MS_MOVE)", new_root);
    check_sys(::chroot("."), "chroot", new_root);
    check_sys(::chdir("/"), "chdir", "/");
    return;
  }
  explain::step("umount2(2)", "umount -l .   # detach the host's old root");
  check_sys(::umount2(".", MNT_DETACH), "umount2", "old root");
  check_sys(::chdir("/"), "chdir", "/");
}

void remount_root_readonly() { do_mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY); }

}  // namespace mctr::rootfs
