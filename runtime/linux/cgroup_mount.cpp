#include "linux/cgroup_mount.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string_view>

#include "linux/in_root.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/text.h"

namespace mctr::rootfs {

namespace {

constexpr const char* kTarget = "/sys/fs/cgroup";

bool ends_with_id(std::string_view path, std::string_view id) {
  return !id.empty() && path.size() > id.size() &&
         path.compare(path.size() - id.size(), id.size(), id) == 0 &&
         path[path.size() - id.size() - 1] == '/';
}

}  // namespace

OwnCgroups own_cgroups(const std::string& proc_self_cgroup, const std::string& id) {
  OwnCgroups own;
  for (std::string_view line : text::split(proc_self_cgroup, '\n')) {
    // "ID:CONTROLLERS:PATH"; the path may itself hold ':'.
    auto a = line.find(':');
    auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view controllers = line.substr(a + 1, b - a - 1);
    if (!ends_with_id(line.substr(b + 1), id)) continue;
    if (line.substr(0, a) == "0" && controllers.empty())
      own.v2 = true;
    else if (!controllers.empty())
      own.v1.emplace_back(controllers);
  }
  return own;
}

OwnCgroups read_own_cgroups(const std::string& id) {
  return own_cgroups(fs::read_file("/proc/self/cgroup"), id);
}

V1MountPoint v1_mount_point(const std::string& controllers) {
  V1MountPoint m;
  std::vector<std::string> names;
  for (std::string_view c : text::split(controllers, ',')) {
    if (c.substr(0, 5) == "name=") c.remove_prefix(5);  // name=systemd -> systemd/
    if (!c.empty()) names.emplace_back(c);
  }
  for (const auto& n : names) m.dir += (m.dir.empty() ? "" : ",") + n;
  if (names.size() > 1) m.links = names;
  return m;
}

void mount_own_cgroups(const OwnCgroups& own, bool read_only) {
  if (own.v1.empty() && !own.v2) return;
  const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (read_only ? MS_RDONLY : 0);
  // /sys is a read-only sysfs by now; mounting on its directory is still allowed.
  if (own.v1.empty()) {
    mount_in_root("cgroup2", "/", kTarget, "cgroup2", flags, "", true);
    return;
  }
  UniqueFd dir =
      mount_in_root("tmpfs", "/", kTarget, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", true);
  expect_fs(dir.get(), TMPFS_MAGIC, kTarget);
  auto shown = [](const std::string& name) { return std::string(kTarget) + "/" + name; };
  for (const auto& controllers : own.v1) {
    V1MountPoint m = v1_mount_point(controllers);
    explain::step("mkdir(2)", "mkdir " + shown(m.dir));
    check_sys(::mkdirat(dir.get(), m.dir.c_str(), 0755), "mkdirat", shown(m.dir));
    // The kernel finds the host's hierarchy by its exact set of controllers.
    mount_under(dir.get(), m.dir.c_str(), shown(m.dir), "cgroup", "cgroup", flags, controllers);
    for (const auto& link : m.links) {
      explain::step("symlink(2)", "ln -s " + m.dir + " " + shown(link));
      check_sys(::symlinkat(m.dir.c_str(), dir.get(), link.c_str()), "symlinkat", shown(link));
    }
  }
  if (own.v2) {
    explain::step("mkdir(2)", "mkdir " + shown("unified"));
    check_sys(::mkdirat(dir.get(), "unified", 0755), "mkdirat", shown("unified"));
    mount_under(dir.get(), "unified", shown("unified"), "cgroup2", "cgroup2", flags);
  }
  // Docker's tmpfs there is read-only too: nothing can be added next to the hierarchies.
  if (read_only) mount_under(dir.get(), ".", kTarget, nullptr, nullptr, MS_BIND | MS_REMOUNT | flags);
}

}  // namespace mctr::rootfs
