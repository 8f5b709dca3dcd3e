#include "runc/init.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>

#include "linux/cgroup_mount.h"
#include "linux/loopback.h"
#include "linux/rootfs.h"
#include "linux/security/security.h"
#include "runc/console.h"
#include "runc/hooks.h"
#include "runc/init_sync.h"
#include "runc/mounts.h"
#include "runc/process.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

namespace {

void expect(int sync_fd, InitMsg want, std::string* text = nullptr) {
  auto m = recv_init_message(sync_fd);
  if (!m || m->kind != want)
    throw Error(std::string("create went away before \"") + init_msg_name(want) + "\"");
  if (text) *text = m->text;
}

// The last path component of the group: how /proc/self/cgroup names it.
std::string leaf_of(const std::string& group) {
  auto slash = group.rfind('/');
  return slash == std::string::npos ? group : group.substr(slash + 1);
}

// chroot-like, for --no-pivot (a rootfs on a ramfs/initramfs, where
// pivot_root is refused): the root moved over "/" and chroot'ed into. The
// old root stays reachable underneath to a process with CAP_SYS_ADMIN.
void move_root(const std::string& rootfs) {
  check_sys(::chdir(rootfs.c_str()), "chdir", rootfs);
  check_sys(::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr), "mount(MS_MOVE)", rootfs);
  check_sys(::chroot("."), "chroot", rootfs);
  check_sys(::chdir("/"), "chdir", "/");
}

// Without a mount namespace of our own: pivot_root or MS_MOVE would change
// the host's root, so only this process's root changes. Weaker still than
// move_root: a process with CAP_SYS_CHROOT can climb out of a chroot.
void chroot_into(const std::string& rootfs) {
  check_sys(::chdir(rootfs.c_str()), "chdir", rootfs);
  check_sys(::chroot("."), "chroot", rootfs);
  check_sys(::chdir("/"), "chdir", "/");
}

// linux.sysctl: net.ipv4.ip_forward -> /proc/sys/net/ipv4/ip_forward, in the
// container's namespaces (only namespaced keys take effect there).
void write_sysctls(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    std::string path = "/proc/sys/";
    for (char c : key) path += c == '.' ? '/' : c;
    fs::write_file(path, value);
  }
}

// Until `start`: blocks in open(2) of the exec fifo for writing, which
// returns once `start` opens it for reading. Through /proc/self/fd: the fd
// we hold is O_PATH (opened before pivot_root, where the state dir is out of
// reach now).
void wait_for_start(int fifo_fd) {
  std::string path = "/proc/self/fd/" + std::to_string(fifo_fd);
  // Kept open: close-on-exec, so `start` reads EOF once we have exec'd (see start.cpp).
  int w = check_sys(::open(path.c_str(), O_WRONLY | O_CLOEXEC), "open", "exec fifo");
  check_sys(::write(w, "0", 1), "write", "exec fifo");
  ::close(fifo_fd);
}

[[noreturn]] void setup_and_exec(InitArgs& a) {
  const oci::Spec& spec = *a.spec;
  const oci::Process& proc = *spec.process;
  // 1. Wait until `create` has put us in our cgroup (and written id maps).
  expect(a.sync_fd, InitMsg::kGo);
  if (a.new_user_ns) {
    check_sys(::setresgid(0, 0, 0), "setresgid");
    check_sys(::setresuid(0, 0, 0), "setresuid");
  }
  // 2. The namespaces to join (a pod's sandbox: its network, ipc, uts).
  for (const auto& [type, fd] : a.join)
    if (::setns(fd.get(), type) < 0) throw_sys("setns", "namespace type " + std::to_string(type));
  a.join.clear();
  rootfs::OwnCgroups own = rootfs::read_own_cgroups(leaf_of(a.cgroup_group));
  if (a.new_cgroup_ns) check_sys(::unshare(CLONE_NEWCGROUP), "unshare(CLONE_NEWCGROUP)");
  check_sys(::setsid(), "setsid");
  // 3. The root filesystem: the bundle's mounts in order, then devices.
  MountPlan plan = mount_rootfs(spec, a.rootfs, a.mount_ns);
  if (a.extras) make_device_nodes(a.rootfs, *a.extras);
  if (plan.cgroup_mount && !a.new_cgroup_ns)
    bind_host_cgroups(a.rootfs, a.cgroup_group, plan.cgroup_read_only);
  // 4. prestart/createRuntime run in `create` now; createContainer here, in
  // our mount namespace but before pivot_root (the spec's order).
  send_init_message(a.sync_fd, InitMsg::kRunHooks);
  std::string state;
  expect(a.sync_fd, InitMsg::kHooksDone, &state);
  if (spec.hooks) run_hooks(spec.hooks->create_container, state, "createContainer");
  // 5. Into the new root.
  if (a.mount_ns == MountNamespace::kHosts)
    chroot_into(a.rootfs);
  else if (a.no_pivot)
    move_root(a.rootfs);
  else
    rootfs::pivot_into(a.rootfs);
  if (plan.cgroup_mount && a.new_cgroup_ns) rootfs::mount_own_cgroups(own, plan.cgroup_read_only);
  if (proc.terminal) {
    setup_console(a.console_fd, proc, true);
    ::close(a.console_fd);
  }
  // 6. Names, kernel settings, then what the container may not see or change.
  if (!spec.hostname.empty())
    check_sys(::sethostname(spec.hostname.data(), spec.hostname.size()), "sethostname", spec.hostname);
  if (!spec.domainname.empty())
    check_sys(::setdomainname(spec.domainname.data(), spec.domainname.size()), "setdomainname",
              spec.domainname);
  if (a.new_net_ns) linux_ns::bring_up_loopback();
  write_sysctls(spec.linux_->sysctl);
  security::mask_paths(spec.linux_->masked_paths, spec.linux_->readonly_paths);  // after pivot_root
  if (spec.root->readonly) rootfs::remount_root_readonly();
  const std::string& prop = spec.linux_->rootfs_propagation;
  if (prop == "shared" || prop == "rshared") set_root_propagation(prop);
  // 7. The process, found and checked now so that `create` reports a
  // missing command, not `start`.
  PreparedProcess prepared = prepare_process(proc, spec.linux_->seccomp);
  apply_limits(proc);
  send_init_message(a.sync_fd, InitMsg::kReady);
  ::close(a.sync_fd);
  a.sync_fd = -1;
  // 8. `create` has exited; from here errors go to our stderr.
  // In a user namespace our own /proc/self/fd belongs to the host's root
  // while we are not dumpable, and is out of reach to the namespace's root.
  if (a.new_user_ns) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  wait_for_start(a.fifo_fd);
  if (spec.hooks) run_hooks(spec.hooks->start_container, state, "startContainer");
  become_user_and_exec(prepared);
}

}  // namespace

void run_init(InitArgs& a) {
  // No process of the container may ptrace us or read our memory before the exec.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int code = 1;
  std::string msg;
  try {
    setup_and_exec(a);
  } catch (const Error& e) {
    code = e.exit_code();
    msg = e.what();
  } catch (const std::exception& e) {
    msg = e.what();
  }
  if (a.sync_fd >= 0) {
    try {
      send_init_message(a.sync_fd, InitMsg::kFailed, msg);
    } catch (...) {
    }
  } else {
    std::fprintf(stderr, "minictr-runc init: %s\n", msg.c_str());
  }
  ::_exit(code == 0 ? 1 : code);
}

}  // namespace mctr::runc
