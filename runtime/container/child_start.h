// How the supervisor starts a container's init: one interface, two ways.
//
//  - CloneThenGo: clone(2) (clone3 on cgroup v2) into new namespaces. The
//    child builds its root filesystem while the supervisor makes its cgroup
//    and network from the outside, then waits for "go". On cgroup v2 the
//    cgroup is made first and the child is born in it (CLONE_INTO_CGROUP);
//    on v1 the child moves itself in once told "go".
//  - CloneSharingMemory (cgroup v1, no bridge): clone(CLONE_VM|CLONE_VFORK)
//    as posix_spawn does: the child runs in the supervisor's memory until
//    its execve, so the kernel copies no page tables and the child takes no
//    copy-on-write faults. The supervisor is suspended meanwhile, so a
//    second thread makes the network namespace, /etc files, cgroup and
//    seccomp program and hands each to the child over a socket while the
//    child mounts. Its gain is measured by bench/run.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "container/init.h"
#include "container/outside_setup.h"
#include "container/protocol.h"
#include "linux/rootfs.h"
#include "oci/spec.h"
#include "util/fd.h"

namespace mctr::container {

// What the init is started with.
struct ChildPlan {
  const oci::Spec& bundle;
  const rootfs::Spec& fs;
  const InitStdio& stdio;
  std::filesystem::path seccomp_cache;
  int status_fd = -1;  // the CLI's socket: the child closes it
  bool new_netns = false;
  int netns = -1;  // with new_netns: one the supervisor made in advance, which the init joins
};

// The init, started: its pid; its mount namespace, held open so that its
// exit only drops a reference instead of unmounting everything before the
// kernel tells us; and what it said during setup: an error, or nothing
// once it exec'd the command.
struct StartedChild {
  pid_t pid = 0;
  UniqueFd mount_ns;
  UniqueFd console;  // -t: the master of the pty the init made in its devpts
  std::optional<protocol::Message> setup_error;
};

class ChildStart {
 public:
  virtual ~ChildStart() = default;
  // Start the init with `outside`'s cgroup, call `ready(pid)` for the rest
  // of the outside setup (network, state) where this way of starting needs
  // it, and return once the init exec'd its command or failed. Throws with
  // the child killed and reaped.
  virtual StartedChild start(const ChildPlan& plan, OutsideSetup& outside,
                             const std::function<void(pid_t)>& ready) = 0;
};

// The way to start the init of `bundle` (its user namespace, network mode,
// and this host's cgroup version decide).
std::unique_ptr<ChildStart> choose_child_start(const oci::Spec& bundle);

}  // namespace mctr::container
