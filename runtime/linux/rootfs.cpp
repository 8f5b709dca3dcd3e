#include "linux/rootfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <tuple>

#include "linux/in_root.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/mountinfo.h"

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

// fsconfig(2) copies at most 255 bytes of a value: the lower layers go one
// at a time ("lowerdir+", Linux 6.8+).
static constexpr size_t kFsconfigValueMax = 255;

static bool configure(int fs, unsigned cmd, const char* key, const char* value) {
  return ::fsconfig(fs, cmd, key, value, 0) == 0;
}

UniqueFd make_detached_overlay(const Spec& s) {
  const auto& d = s.container_dir;
  std::vector<std::string> lower;  // the top layer first
  if (s.layer_dirs.empty()) lower.push_back((d / "empty").string());
  for (size_t i = s.layer_dirs.size(); i-- > 0;) lower.push_back(s.layer_dirs[i]);
  const std::string upper = (d / "upper").string(), work = (d / "work").string();
  const auto too_long = [](const std::string& p) { return p.size() > kFsconfigValueMax; };
  if (too_long(upper) || too_long(work) || std::any_of(lower.begin(), lower.end(), too_long)) return {};
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return {};
  bool ok = configure(fs.get(), FSCONFIG_SET_STRING, "source", "overlay");  // as mount(2) names it
  for (const auto& layer : lower)
    ok = ok && configure(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", layer.c_str());
  ok = ok && configure(fs.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str()) &&
       configure(fs.get(), FSCONFIG_SET_STRING, "workdir", work.c_str());
  // "volatile": see mount_overlay.
  if (s.volatile_upper) ok = ok && configure(fs.get(), FSCONFIG_SET_FLAG, "volatile", nullptr);
  ok = ok && configure(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr);
  // Refused (a kernel without "lowerdir+", or a layer it cannot use): the
  // init mounts it with mount(2), and reports what the kernel says then.
  if (!ok) return {};
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (mnt)
    explain::step(
        explain::Kind::kNote, "fsopen+fsconfig+fsmount(2)",
        "# the overlay made now, not mounted anywhere yet: the init attaches it (the mount line below)");
  return mnt;
}

void mount_overlay(const Spec& s) {
  const auto& d = s.container_dir;
  const bool short_names = needs_short_names(s);
  std::string data = overlay_options(s, short_names);
  if (short_names) {
    if (s.overlay_fd < 0) check_sys(::chdir((d / "l").c_str()), "chdir", d / "l");
    explain::step("chdir(2)", "cd " + (d / "l").string() + "   # short lowerdir names: l/N -> layer dirs");
  }
  if (s.overlay_fd >= 0) {
    // Made in advance (make_detached_overlay): attached here. The trace
    // shows the mount(2) it stands for.
    explain::step("move_mount(2)", mount_replay("overlay", s.mount_point, "overlay", 0,
                                                data + (s.volatile_upper ? ",volatile" : "")));
    check_sys(::move_mount(s.overlay_fd, "", AT_FDCWD, s.mount_point.c_str(), MOVE_MOUNT_F_EMPTY_PATH),
              "move_mount overlay", s.mount_point);
    return;
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

static void make_device(int dev, const std::string& shown_dev, const char* name, unsigned maj, unsigned min) {
  std::string shown = shown_dev + "/" + name;
  explain::step("mknod(2)",
                "mknod -m 666 " + shown + " c " + std::to_string(maj) + " " + std::to_string(min));
  if (::mknodat(dev, name, S_IFCHR | 0666, makedev(maj, min)) < 0) {
    // In a user namespace mknod is refused: bind the host's node instead.
    int f = check_sys(::openat(dev, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666),
                      "openat", shown);
    ::close(f);
    mount_under(dev, name, shown, (std::string("/dev/") + name).c_str(), nullptr, MS_BIND);
  }
  ::fchmodat(dev, name, 0666, 0);  // mknod's mode is filtered by the umask
}

static bool exists_at(int dir, const char* name) {
  struct stat st;
  return ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// The device nodes and links every container has (the runtime spec's
// "default devices"); with `keep_existing`, those already there are left.
static void make_default_nodes(int dev, const std::string& shown, bool keep_existing) {
  const std::tuple<const char*, unsigned, unsigned> nodes[] = {
      {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (auto [name, maj, min] : nodes)
    if (!keep_existing || !exists_at(dev, name)) make_device(dev, shown, name, maj, min);
  const std::pair<const char*, const char*> links[] = {
      {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"}};
  for (auto [name, to] : links) {
    if (keep_existing && exists_at(dev, name)) continue;
    explain::step("symlink(2)", std::string("ln -s ") + to + " " + shown + "/" + name);
    check_sys(::symlinkat(to, dev, name), "symlinkat", shown + "/" + name);
  }
}

void create_default_devices(const stdfs::path& root) {
  UniqueFd dev(open_in_root(root, "/dev", true, true));
  make_default_nodes(dev.get(), (root / "dev").string(), true);
}

void bind_console(const stdfs::path& root, const std::string& slave_path) {
  UniqueFd dev(open_in_root(root, "/dev", true, true));
  const std::string shown = (root / "dev").string();
  if (!exists_at(dev.get(), "console")) {
    int f =
        check_sys(::openat(dev.get(), "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600),
                  "openat", shown + "/console");
    ::close(f);
  }
  mount_under(dev.get(), "console", shown + "/console", slave_path.c_str(), nullptr, MS_BIND);
}

// Fill the container's /dev: `dev` is the tmpfs just mounted there, every
// entry is made relative to it (mknodat, symlinkat, mkdirat), so no path of
// the image (its /dev may be a symlink anywhere) is ever walked again.
static void populate_dev(int dev, const std::string& shown) {
  make_default_nodes(dev, shown, false);
  explain::step("mkdir(2)", "mkdir -m 755 " + shown + "/pts");
  check_sys(::mkdirat(dev, "pts", 0755), "mkdirat", shown + "/pts");
  // newinstance: the container gets its own pty numbering, not the host's.
  mount_under(dev, "pts", shown + "/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5");
  explain::step("mkdir(2)", "mkdir -m 1777 " + shown + "/shm");
  check_sys(::mkdirat(dev, "shm", 01777), "mkdirat", shown + "/shm");
  mount_under(dev, "shm", shown + "/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=1777,size=65536k");
  explain::step("mkdir(2)", "mkdir -m 755 " + shown + "/mqueue");
  check_sys(::mkdirat(dev, "mqueue", 0755), "mkdirat", shown + "/mqueue");
  mount_under(dev, "mqueue", shown + "/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

void mount_proc_dev_sys(const Spec& s) {
  mount_proc_dev(s);
  mount_sys(s);
}

// procfs and sysfs only on a real directory of the image, as runc requires
// (CVE-2019-19921): mounted where a symlink /proc leads, the container could
// later point /proc at files of its own making, which the runtime reading
// /proc/self/... in the container would trust. A missing one is made.
static void require_ordinary_dir(const stdfs::path& root, const std::string& name, const char* fstype) {
  struct stat st;
  if (::fstatat(AT_FDCWD, (root / name).c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return;
    throw_sys("lstat", root / name);
  }
  if (!S_ISDIR(st.st_mode))
    throw Error("the image's /" + name + " is not a directory: filesystem \"" + fstype +
                "\" must be mounted on an ordinary directory");
}

void mount_proc(const Spec& s) {
  // A fresh procfs shows only the processes of the new PID namespace.
  require_ordinary_dir(s.mount_point, "proc", "proc");
  mount_in_root("proc", s.mount_point, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", true);
}

UniqueFd mount_dev_tmpfs(const Spec& s, const std::string& extra_options) {
  return mount_in_root("tmpfs", s.mount_point, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                       "mode=755,size=65536k" + extra_options, true);
}

void fill_dev(const Spec& s) {
  const stdfs::path root = s.mount_point;
  UniqueFd dev(open_in_root(root, "/dev", false, true));
  expect_fs(dev.get(), TMPFS_MAGIC, (root / "dev").string());
  populate_dev(dev.get(), (root / "dev").string());
}

void mount_proc_dev(const Spec& s) {
  mount_proc(s);
  UniqueFd dev = mount_dev_tmpfs(s);
  expect_fs(dev.get(), TMPFS_MAGIC, (s.mount_point / "dev").string());
  populate_dev(dev.get(), (s.mount_point / "dev").string());
}

void mount_sys(const Spec& s) {
  // sysfs shows the network devices of the mounting process's netns: with
  // --network host, the host's. Always a fresh sysfs, never a recursive bind
  // of the host's /sys: that brought the host's cgroup mounts (and any other
  // under /sys) along read-write, where a remount of the top leaves them.
  require_ordinary_dir(s.mount_point, "sys", "sysfs");
  mount_in_root("sysfs", s.mount_point, "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "",
                true);
}

// The flags of the mount `path` is on that a remount must repeat (statvfs(3)).
static unsigned long kept_mount_flags(const std::string& path) {
  struct statvfs sv;
  check_sys(::statvfs(path.c_str(), &sv), "statvfs", path);
  const std::pair<unsigned long, unsigned long> kFlags[] = {
      {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
  unsigned long out = 0;
  for (auto [st, ms] : kFlags)
    if (sv.f_flag & st) out |= ms;
  return out;
}

void mount_binds(const Spec& s) {
  stdfs::path root = s.mount_point;
  for (const auto& b : s.binds) {
    struct stat st;
    check_sys(::stat(b.source.c_str(), &st), "stat", b.source);
    bool is_dir = S_ISDIR(st.st_mode);
    mount_in_root(b.source.c_str(), root, b.destination, nullptr, MS_BIND | MS_REC, "", is_dir);
    if (b.read_only) {
      // A bind mount takes the source's flags; read-only needs a second
      // call, which keeps nosuid/nodev/noexec/atime: in a user namespace
      // (run --userns) the kernel refuses to clear them (locked flags).
      mount_in_root(nullptr, root, b.destination, nullptr,
                    MS_BIND | MS_REMOUNT | MS_RDONLY | kept_mount_flags(b.source), "", is_dir);
    }
  }
}

// True when "/" is the kernel's initial rootfs (the initramfs of a VM or
// installer), seen as fstype "rootfs" in /proc/self/mountinfo.
static bool root_is_initramfs() {
  auto text = fs::read_file_if_exists("/proc/self/mountinfo").value_or("");
  for (const auto& m : fs::parse_mountinfo(text))
    if (m.mount_point == "/" && m.fstype == "rootfs") return true;
  return false;
}

void pivot_into(const stdfs::path& new_root) {
  // pivot_root(".", "."): put the old root on top of the new one, then
  // detach it. Unlike chroot, the host's tree is then unreachable.
  check_sys(::chdir(new_root.c_str()), "chdir", new_root);
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    explain::step(explain::Kind::kPivot, "pivot_root(2)", "cd " + new_root.string() + " && pivot_root . .");
  } else {
    if (errno != EINVAL || !root_is_initramfs()) throw_sys("pivot_root", new_root);
    // The host runs from its initramfs (rootfs), which can never be
    // unmounted, so pivot_root refuses. Fall back like `runc --no-pivot`:
    // move the new root over "/" and chroot into it. Weaker than pivot_root
    // (the old root stays underneath), so only used where nothing else works.
    explain::step(explain::Kind::kPivot, "mount+chroot",
                  "cd " + new_root.string() +
                      " && mount --move . / && chroot .   # pivot_root is refused on an initramfs");
    check_sys(::mount(".", "/", nullptr, MS_MOVE, nullptr), "mount(MS_MOVE)", new_root);
    check_sys(::chroot("."), "chroot", new_root);
    check_sys(::chdir("/"), "chdir", "/");
    return;
  }
  explain::step(explain::Kind::kPivot, "umount2(2)", "umount -l .   # detach the host's old root");
  check_sys(::umount2(".", MNT_DETACH), "umount2", "old root");
  check_sys(::chdir("/"), "chdir", "/");
}

void remount_root_readonly() { do_mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY); }

}  // namespace mctr::rootfs
