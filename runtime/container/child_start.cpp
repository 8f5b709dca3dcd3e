#include "container/child_start.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "container/from_bundle.h"
#include "container/networks.h"
#include "linux/cgroup/detect.h"
#include "linux/idmapped_rootfs.h"
#include "linux/namespaces.h"
#include "linux/security/userns.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/parallel.h"
#include "util/scope_guard.h"

namespace mctr::container {

namespace {

// Until the start returns, a child that is left behind is killed.
ScopeGuard kill_on_failure(pid_t pid) {
  return ScopeGuard([pid] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
}

// --userns, before the clone: the host files the init would make (it cannot
// once in its user namespace), upper/ and work/ owned by the mapped root
// (files it creates in its root filesystem are its own), and the seccomp program.
std::vector<sock_filter> prepare_for_user_namespace(const ChildPlan& plan, const IdMaps& maps) {
  std::vector<sock_filter> seccomp = prepare_host_files(plan.bundle, plan.fs, plan.seccomp_cache);
  const uid_t uid = security::host_id_of(0, maps.uids);
  const gid_t gid = security::host_id_of(0, maps.gids);
  for (const char* d : {"upper", "work"}) {
    const auto path = plan.fs.container_dir / d;
    check_sys(::chown(path.c_str(), uid, gid), "chown", path);
  }
  return seccomp;
}

// --userns, after the clone: the child's uid_map and gid_map, then its root
// filesystem, built here as the host's root and sent over (RootFs).
void hand_over_root_filesystem(pid_t pid, const ChildPlan& plan, const IdMaps& maps, int sync_fd) {
  explain::step(explain::Kind::kNotReplayable, "write(2)",
                "# /proc/" + std::to_string(pid) + "/uid_map: " + security::format_id_map(maps.uids) +
                    "# /proc/" + std::to_string(pid) + "/gid_map: " + security::format_id_map(maps.gids));
  security::write_id_maps(pid, maps.uids, maps.gids);
  const std::string ns = "/proc/" + std::to_string(pid) + "/ns/user";
  UniqueFd userns(check_sys(::open(ns.c_str(), O_RDONLY | O_CLOEXEC), "open", ns));
  UniqueFd tree = rootfs::build_idmapped_tree(plan.fs, userns.get(), security::host_id_of(0, maps.uids),
                                              security::host_id_of(0, maps.gids));
  protocol::send(sync_fd, {protocol::Kind::RootFs, 0, ""}, {tree.get()});
}

// What the init sends before it execs: its mount namespace (MountNs, the
// shared-memory start), with -t its terminal's master (Console), then an
// error (SetupFailed), or nothing: EOF once it exec'd.
void receive_from_init(int sync_fd, StartedChild& child) {
  for (;;) {
    std::vector<UniqueFd> passed;
    auto m = protocol::recv(sync_fd, &passed);
    UniqueFd* into = !m || passed.empty()                 ? nullptr
                     : m->kind == protocol::Kind::MountNs ? &child.mount_ns
                     : m->kind == protocol::Kind::Console ? &child.console
                                                          : nullptr;
    if (!into) {
      child.setup_error = std::move(m);
      return;
    }
    *into = std::move(passed.front());
  }
}

class CloneThenGo : public ChildStart {
 public:
  StartedChild start(const ChildPlan& plan, OutsideSetup& outside,
                     const std::function<void(pid_t)>& ready) override {
    const std::optional<IdMaps> userns = user_namespace_maps(plan.bundle);
    std::vector<sock_filter> seccomp;
    if (userns) seccomp = prepare_for_user_namespace(plan, *userns);
    const bool into_cgroup = cgroup::is_unified();  // a v2 manager can_clone_into()
    if (into_cgroup) outside.make_cgroup();
    cgroup::Manager* cgroup = &outside.cgroup();  // made before the clone: the child uses it to join
    UniqueFd cgroup_fd(into_cgroup ? cgroup->open_for_clone() : -1);
    linux_ns::SyncChannel sync;
    bool born_in_cgroup = false;
    StartedChild child;
    // Born in a new network namespace: one made in advance (cloned from
    // inside it), or one the clone makes.
    const bool made_in_advance = plan.new_netns && plan.netns >= 0;
    const int flags =
        linux_ns::container_clone_flags(plan.new_netns && !made_in_advance) | (userns ? CLONE_NEWUSER : 0);
    linux_ns::NetworkNamespaceVisit born_in(made_in_advance ? plan.netns : -1);
    child.pid = linux_ns::clone_process(flags, cgroup_fd.get(), &born_in_cgroup);
    if (child.pid == 0) {
      if (born_in.home_fd() >= 0) ::close(born_in.home_fd());
      ::close(plan.status_fd);
      sync.become_child();
      // On v1 it moves itself into its cgroup first thing after "go".
      InitLink link{sync.child_fd(), -1, born_in_cgroup ? nullptr : cgroup, plan.seccomp_cache, seccomp};
      container_init(userns ? kUserNamespaceSteps : kCloneThenGoSteps, {plan.bundle, plan.fs, plan.stdio},
                     link);
    }
    born_in.leave();  // before anything else: what follows works on the host's network
    sync.become_parent();
    ScopeGuard kill_child = kill_on_failure(child.pid);
    if (userns) hand_over_root_filesystem(child.pid, plan, *userns, sync.parent_fd());
    child.mount_ns.reset(
        ::open(("/proc/" + std::to_string(child.pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));

    // From the outside: cgroup, then network, then "go". Meanwhile the
    // child prepares its files and mounts its root filesystem.
    bool child_failed_early = false;
    try {
      if (!outside.cgroup_made()) outside.make_cgroup();
      ready(child.pid);
    } catch (const std::exception&) {
      // If the child's root filesystem failed meanwhile, it has exited and
      // its error (queued before it exited) is the one to report, not ours
      // about a process that is gone.
      if (!sync.child_spoke(100)) throw;
      child_failed_early = true;
    }
    if (!child_failed_early) {
      explain::step(explain::Kind::kNote, "send(2)",
                    "# tell the child \"go\": its cgroup and network are ready");
      try {
        protocol::send(sync.parent_fd(), {protocol::Kind::Go, 0, ""});
      } catch (const SysError&) {
        // EPIPE: the child failed while building its root filesystem; its
        // error is queued below.
      }
    }
    // It either execs (its end of the socket closes: EOF) or reports an error.
    receive_from_init(sync.parent_fd(), child);
    kill_child.dismiss();
    return child;
  }
};

// On the supervisor's second thread, while the child (in our memory) mounts
// its root filesystem: what it needs from the host side, each handed over on
// `handoff` as soon as it is ready and in the order the child's steps ask
// for it (kSharingMemorySteps): its network namespace (NetNs + fd, unless
// made in advance), its cgroup (Cgroup + the
// files to join it with), its seccomp program (SeccompProgram: written to
// `seccomp`, in the memory the child shares). On failure HandoffFailed: the
// child gives up, and the thread's error is the one reported.
void make_in_background(const linux_ns::SyncChannel& handoff, const ChildPlan& plan, OutsideSetup& outside,
                        std::vector<sock_filter>& seccomp) {
  bool handed_over = false;
  ScopeGuard tell_failure([&] {
    if (!handed_over) protocol::send(handoff.parent_fd(), {protocol::Kind::HandoffFailed, 0, ""});
  });
  if (plan.new_netns && plan.netns < 0) {  // one made in advance: the child was born in it
    UniqueFd made = linux_ns::new_network_namespace();
    protocol::send(handoff.parent_fd(), {protocol::Kind::NetNs, 0, ""}, {made.get()});
  }
  outside.make_cgroup();
  std::vector<UniqueFd> join = outside.cgroup().open_join_files();
  std::vector<int> fds;
  for (const auto& f : join) fds.push_back(f.get());
  protocol::send(handoff.parent_fd(), {protocol::Kind::Cgroup, 0, ""}, fds);
  seccomp = seccomp_program(plan.bundle, plan.seccomp_cache);
  protocol::send(handoff.parent_fd(), {protocol::Kind::SeccompProgram, 0, ""});
  handed_over = true;
}

// The pid of a child cloned with CLONE_PARENT_SETTID, for another thread:
// the kernel stores it before the child runs (no wake-up: we poll), or the
// cloning thread stores -1 when the clone failed.
class EarlyPid {
 public:
  pid_t* for_kernel() { return reinterpret_cast<pid_t*>(&pid_); }
  void clone_failed() { pid_.store(-1); }
  pid_t wait() const {
    pid_t pid;
    while ((pid = pid_.load()) == 0) std::this_thread::yield();
    return pid;
  }

 private:
  static_assert(sizeof(std::atomic<pid_t>) == sizeof(pid_t) && std::atomic<pid_t>::is_always_lock_free);
  std::atomic<pid_t> pid_{0};
};

class CloneSharingMemory : public ChildStart {
 public:
  StartedChild start(const ChildPlan& plan, OutsideSetup& outside,
                     const std::function<void(pid_t)>& ready) override {
    // The child mounts its overlay first thing: its dirs now (made already
    // with the overlay made in advance), and the /etc files it binds soon
    // after. The rest of what it needs from the host side is made by a
    // second thread while it mounts (we are suspended until it execs): a
    // thread the child waits for early waits for a CPU too, where this
    // kernel keeps both on one.
    prepare_overlay_dirs(plan.fs);
    write_host_etc_files(plan.bundle, plan.fs);
    linux_ns::SyncChannel sync, handoff;
    InitLink link{sync.child_fd(), handoff.child_fd(), nullptr, {}, {}, plan.new_netns && plan.netns >= 0};
    const InitPlan init{plan.bundle, plan.fs, plan.stdio};
    EarlyPid early_pid;
    std::atomic<bool> readied = false;
    const auto cloning_thread = std::this_thread::get_id();
    // The thread starts its work once the child runs. Busy before, it kept
    // the child off the CPU: the kernel may put a new child on the thread's
    // CPU, and the CPU we leave for it (blocked until the child execs) then
    // stays idle; the child waited ~1 ms for the thread in a third of the
    // starts. The child says it runs; we say it too once the clone returned
    // (a child that never ran, or a failed clone).
    UniqueFd child_runs(check_sys(::eventfd(0, EFD_CLOEXEC), "eventfd"));
    auto say_child_runs = [fd = child_runs.get()] {
      const uint64_t one = 1;
      (void)!::write(fd, &one, sizeof one);
    };
    Background background([&] {
      if (std::this_thread::get_id() != cloning_thread) {
        uint64_t n = 0;
        while (::read(child_runs.get(), &n, sizeof n) < 0 && errno == EINTR) {
        }
      }
      make_in_background(handoff, plan, outside, link.seccomp);
      // On a thread of its own (not with --explain, which runs this before
      // the clone), the rest of the outside setup too, while the child
      // finishes: the state says "running", as CloneThenGo's does before "go".
      if (std::this_thread::get_id() == cloning_thread) return;
      if (const pid_t pid = early_pid.wait(); pid > 0) {
        ready(pid);
        readied = true;
      }
    });
    StartedChild child;
    // No CLONE_NEWNET: the child is born in the namespace made in advance,
    // or joins the one the thread makes and hands over.
    linux_ns::NetworkNamespaceVisit born_in(plan.new_netns ? plan.netns : -1);
    try {
      child.pid = linux_ns::clone_sharing_memory(
          linux_ns::container_clone_flags(false),
          [&] {
            say_child_runs();
            if (born_in.home_fd() >= 0) ::close(born_in.home_fd());
            ::close(plan.status_fd);  // our copy stays open: the child has its own fd table
            container_init(kSharingMemorySteps, init, link);
          },
          early_pid.for_kernel());
    } catch (...) {
      early_pid.clone_failed();
      say_child_runs();
      throw;
    }
    born_in.leave();
    say_child_runs();
    // We run again: the child has exec'd or exited, and its messages wait for us.
    sync.become_parent();
    receive_from_init(sync.parent_fd(), child);
    ScopeGuard kill_child = kill_on_failure(child.pid);
    background.join();  // its error, if any, is the one to report (the child gave up on it)
    if (!child.setup_error && !readied) ready(child.pid);
    kill_child.dismiss();
    return child;
  }
};

}  // namespace

std::unique_ptr<ChildStart> choose_child_start(const oci::Spec& bundle) {
  // --explain only watches: it takes the same path as a run without it.
  // A user namespace needs its maps written after the clone: only "go" waits for that.
  if (!user_namespace_maps(bundle) && !cgroup::is_unified() && !network_mode(bundle).attaches_to_bridge() &&
      linux_ns::can_share_memory())
    return std::make_unique<CloneSharingMemory>();
  return std::make_unique<CloneThenGo>();
}

}  // namespace mctr::container
