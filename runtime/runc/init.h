// The container's init between clone() and execve(), runc's way: it joins
// or enters the namespaces of linux.namespaces, builds the root filesystem
// from root.path and the bundle's mounts, pivots into it, applies the
// process settings, tells `create` it is ready, and then blocks opening the
// exec fifo until `start` opens the other end. Only then does it exec
// process.args.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "oci/spec.h"
#include "runc/extras.h"
#include "runc/mounts.h"
#include "util/fd.h"

namespace mctr::runc {

struct InitArgs {
  const oci::Spec* spec = nullptr;
  const Extras* extras = nullptr;              // linux.devices and what oci::Spec does not hold
  std::string rootfs;                          // absolute, on the host
  int sync_fd = -1;                            // our end of the SyncChannel with `create` (init_sync.h)
  int fifo_fd = -1;                            // O_PATH fd of <state>/exec.fifo
  int console_fd = -1;                         // connected --console-socket, when process.terminal
  std::vector<std::pair<int, UniqueFd>> join;  // (CLONE_NEW*, fd): namespaces to setns into
  bool new_cgroup_ns = false;
  bool new_net_ns = false;
  bool new_user_ns = false;
  bool no_pivot = false;
  // No mount namespace in the spec: the root is built in the host's and
  // entered with chroot(2), as runc does (pivot_root would move the host's root).
  MountNamespace mount_ns = MountNamespace::kContainers;
  std::string cgroup_group;  // the container's group, relative to each hierarchy
};

// Never returns: execs the process, or reports the failure to `create`
// (kFailed) and exits.
[[noreturn]] void run_init(InitArgs& args);

}  // namespace mctr::runc
