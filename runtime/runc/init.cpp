#include "runc/init.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>

#include "container/protocol.h"
#include "linux/cgroup_mount.h"
#include "linux/loopback.h"
#include "linux/rootfs.h"
#include "linux/security/security.h"
#include "runc/console.h"
#include "runc/hooks.h"
#include "runc/mounts.h"
#include "runc/process.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

using container::InitStep;
namespace protocol = container::protocol;

const std::vector<InitStep> kCreateSteps = {
    // `create` puts us in our cgroup (and writes our id maps) before "go".
    InitStep::kWaitForGo,
    InitStep::kBecomeNamespaceRoot,
    InitStep::kJoinNamespaces,  // a pod's sandbox: its network, ipc, uts
    InitStep::kUnshareCgroupNamespace,
    InitStep::kNewSession,
    // The root filesystem: the bundle's mounts in order, then devices.
    InitStep::kMountBundle,
    InitStep::kMakeDeviceNodes,
    InitStep::kBindHostCgroups,
    InitStep::kCreateContainerHooks,
    InitStep::kPivotRoot,
    InitStep::kMountOwnCgroups,
    InitStep::kConsole,
    // Names, kernel settings, then what the container may not see or change.
    InitStep::kHostname,
    InitStep::kDomainname,
    InitStep::kLoopback,
    InitStep::kSysctls,
    InitStep::kMaskPaths,
    InitStep::kReadOnlyRoot,
    InitStep::kRootPropagation,
    // The process, found and checked before "ready", so that `create`
    // reports a missing command, not `start`.
    InitStep::kPrepareProcess,
    InitStep::kReportReady,
    // `create` has exited: from here on errors go to our stderr.
    InitStep::kWaitForStart,
    InitStep::kStartContainerHooks,
    InitStep::kExec,
};

namespace {

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

// minictr-runc create's init: `create` at the other end of a.sync_fd until "ready".
class RuncInit : public container::InitSide {
 public:
  explicit RuncInit(InitArgs& a) : a_(a), spec_(*a.spec), proc_(*spec_.process) {}

  void run(InitStep step) override {
    switch (step) {
      case InitStep::kWaitForGo:
        return container::wait_for_go(a_.sync_fd);
      case InitStep::kBecomeNamespaceRoot:
        if (a_.new_user_ns) container::become_namespace_root();
        return;
      case InitStep::kJoinNamespaces:
        return join_namespaces();
      case InitStep::kUnshareCgroupNamespace:
        if (a_.new_cgroup_ns) own_cgroups_ = container::unshare_cgroup_namespace(leaf_of(a_.cgroup_group));
        return;
      case InitStep::kNewSession:
        check_sys(::setsid(), "setsid");
        return;
      case InitStep::kMountBundle:
        mounts_ = mount_rootfs(spec_, a_.rootfs, a_.mount_ns);
        return;
      case InitStep::kMakeDeviceNodes:
        if (a_.extras) make_device_nodes(a_.rootfs, *a_.extras);
        return;
      case InitStep::kBindHostCgroups:
        if (mounts_.cgroup_mount && !a_.new_cgroup_ns)
          bind_host_cgroups(a_.rootfs, a_.cgroup_group, mounts_.cgroup_read_only);
        return;
      case InitStep::kCreateContainerHooks:
        return create_container_hooks();
      case InitStep::kPivotRoot:
        return enter_root();
      case InitStep::kMountOwnCgroups:
        if (mounts_.cgroup_mount && a_.new_cgroup_ns)
          rootfs::mount_own_cgroups(own_cgroups_, mounts_.cgroup_read_only);
        return;
      case InitStep::kConsole:
        if (!proc_.terminal) return;
        setup_console(a_.console_fd, proc_, true);
        ::close(a_.console_fd);
        return;
      case InitStep::kHostname:
        if (!spec_.hostname.empty()) container::set_hostname(spec_.hostname);
        return;
      case InitStep::kDomainname:
        if (!spec_.domainname.empty())
          check_sys(::setdomainname(spec_.domainname.data(), spec_.domainname.size()), "setdomainname",
                    spec_.domainname);
        return;
      case InitStep::kLoopback:
        if (a_.new_net_ns) linux_ns::bring_up_loopback();
        return;
      case InitStep::kSysctls:
        return write_sysctls(spec_.linux_->sysctl);
      case InitStep::kMaskPaths:
        // The bundle's own lists (after pivot_root: they are the container's paths).
        return security::mask_paths(spec_.linux_->masked_paths, spec_.linux_->readonly_paths);
      case InitStep::kReadOnlyRoot:
        if (spec_.root->readonly) rootfs::remount_root_readonly();
        return;
      case InitStep::kRootPropagation:
        if (const auto& p = spec_.linux_->rootfs_propagation; p == "shared" || p == "rshared")
          set_root_propagation(p);
        return;
      case InitStep::kPrepareProcess:
        prepared_ = prepare_process(proc_, spec_.linux_->seccomp);
        return apply_limits(proc_);
      case InitStep::kReportReady:
        protocol::send(a_.sync_fd, {protocol::Kind::Ready, 0, ""});
        ::close(a_.sync_fd);
        a_.sync_fd = -1;
        return;
      case InitStep::kWaitForStart:
        // In a user namespace our own /proc/self/fd belongs to the host's
        // root while we are not dumpable, and is out of reach to the
        // namespace's root.
        if (a_.new_user_ns) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        return wait_for_start(a_.fifo_fd);
      case InitStep::kStartContainerHooks:
        if (spec_.hooks) run_hooks(spec_.hooks->start_container, state_, "startContainer");
        return;
      case InitStep::kExec:
        become_user_and_exec(prepared_);
      default:
        throw Error("init: step " + std::to_string(static_cast<int>(step)) + " is minictr run's");
    }
  }

  // To `create` while it listens (SetupFailed), else to our stderr.
  int failed(const std::exception& e) noexcept override {
    const auto* error = dynamic_cast<const Error*>(&e);
    const int code = error && error->exit_code() != 0 ? error->exit_code() : 1;
    if (a_.sync_fd >= 0) {
      try {
        protocol::send(a_.sync_fd, {protocol::Kind::SetupFailed, code, e.what()});
      } catch (...) {
      }
    } else {
      std::fprintf(stderr, "minictr-runc init: %s\n", e.what());
    }
    return code;
  }

 private:
  void join_namespaces() {
    for (const auto& [type, fd] : a_.join)
      if (::setns(fd.get(), type) < 0) throw_sys("setns", "namespace type " + std::to_string(type));
    a_.join.clear();
  }

  // prestart/createRuntime run in `create` (RunHooks), in the runtime's
  // namespaces; createContainer here, in our mount namespace but before
  // pivot_root (the spec's order). HooksDone brings the state JSON the
  // hooks read on their stdin.
  void create_container_hooks() {
    protocol::send(a_.sync_fd, {protocol::Kind::RunHooks, 0, ""});
    auto done = protocol::recv(a_.sync_fd);
    if (!done || done->kind != protocol::Kind::HooksDone)
      throw Error("create went away before \"hooks-done\"");
    state_ = done->text;
    if (spec_.hooks) run_hooks(spec_.hooks->create_container, state_, "createContainer");
  }

  void enter_root() {
    if (a_.mount_ns == MountNamespace::kHosts)
      chroot_into(a_.rootfs);
    else if (a_.no_pivot)
      move_root(a_.rootfs);
    else
      rootfs::pivot_into(a_.rootfs);
  }

  InitArgs& a_;
  const oci::Spec& spec_;
  const oci::Process& proc_;
  // What steps pass on to later ones.
  rootfs::OwnCgroups own_cgroups_;  // kUnshareCgroupNamespace
  MountPlan mounts_;                // kMountBundle
  std::string state_;               // kCreateContainerHooks: the state JSON from `create`
  PreparedProcess prepared_;        // kPrepareProcess
};

}  // namespace

void run_init(InitArgs& a) {
  RuncInit init(a);
  container::run_init_steps(kCreateSteps, init);
}

}  // namespace mctr::runc
