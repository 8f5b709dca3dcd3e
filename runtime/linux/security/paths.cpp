// Masked and read-only paths: parts of /proc and /sys that would leak host
// information (kcore, keys, timer_list, firmware...) or let the container
// change the host kernel (/proc/sys, /proc/sysrq-trigger). Runs in the
// container's mount namespace after pivot_root, so "/proc" is the
// container's own proc mount.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "linux/security/security.h"
#include "util/error.h"
#include "util/explain.h"

namespace mctr::security {

const std::vector<std::string>& masked_paths() {
  static const std::vector<std::string> paths = {
      "/proc/acpi",
      "/proc/asound",
      "/proc/interrupts",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/sys/devices/virtual/powercap",
      "/sys/firmware",
  };
  return paths;
}

const std::vector<std::string>& readonly_paths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

namespace {

// A file is hidden behind /dev/null (reads give nothing, writes vanish); a
// directory behind an empty read-only tmpfs. The path is looked at first: a
// bind of /dev/null onto a directory fails with ENOTDIR only after the kernel
// has cloned /dev/null's mount, and freeing that clone waits for an RCU grace
// period (an expedited one, which interrupts every CPU). A path this kernel
// does not have is skipped.
void mask_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // not every kernel has every file
    throw_sys("stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    check_sys(mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, "size=0"), "mount(tmpfs)", path);
    return;
  }
  check_sys(mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr), "mount(/dev/null)", path);
}

}  // namespace

unsigned long locked_mount_flags(const std::string& path) {
  struct statvfs sv {};
  check_sys(statvfs(path.c_str(), &sv), "statvfs", path);
  unsigned long flags = 0;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

namespace {

// A bind mount of a path onto itself gives it its own mount, whose flags
// can then be changed to read-only without touching the rest of /proc.
void make_readonly(const std::string& path) {
  if (mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    if (errno == ENOENT) return;  // not on this kernel
    throw_sys("mount(bind)", path);
  }
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_mount_flags(path);
  check_sys(mount(path.c_str(), path.c_str(), nullptr, flags, nullptr), "mount(remount,ro)", path);
}

// The same as shell commands, for --explain: every path, as mask_path and
// make_readonly treat them (a path this kernel does not have is skipped).
std::string mask_paths_replay(const std::vector<std::string>& masked,
                              const std::vector<std::string>& readonly) {
  std::string ro, hide;
  for (const auto& p : readonly) ro += " " + explain::sh_quote(p);
  for (const auto& p : masked) hide += " " + explain::sh_quote(p);
  return "for p in" + ro + "; do [ -e $p ] && mount --bind $p $p && mount -o remount,bind,ro $p; done; " +
         "for p in" + hide +
         "; do [ -e $p ] && { mount --bind /dev/null $p 2>/dev/null || mount -t tmpfs -o ro,size=0 tmpfs $p; "
         "}; "
         "done   # read-only and masked paths";
}

}  // namespace

void mask_paths(const std::vector<std::string>& masked, const std::vector<std::string>& readonly) {
  if (explain::on()) explain::step("mount(2)", mask_paths_replay(masked, readonly));
  for (const auto& p : readonly) make_readonly(p);
  for (const auto& p : masked) mask_path(p);
}

void mask_paths(bool privileged) {
  if (privileged) return;  // --privileged sees the real /proc and /sys
  mask_paths(masked_paths(), readonly_paths());
}

}  // namespace mctr::security
