// The container's init between clone() and execve(), runc's way: it joins
// or enters the namespaces of linux.namespaces, builds the root filesystem
// from root.path and the bundle's mounts, pivots into it, applies the
// process settings, tells `create` it is ready, and then blocks opening the
// exec fifo until `start` opens the other end. Only then does it exec
// process.args. The steps are kCreateSteps, run by the same runner as
// minictr run's init (container/init.h); `create` and the init talk in
// container/protocol.h's messages:
//   create -> init  Go           the cgroup is ready (and the id maps written)
//   init -> create  RunHooks     mounts are done, before pivot_root: run prestart/createRuntime
//   create -> init  HooksDone    text = the state JSON; go on
//   init -> create  Ready        waiting on the exec fifo: `create` can write the pid file
//   init -> create  SetupFailed  text = the error; the init exits
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "container/init.h"
#include "oci/spec.h"
#include "runc/extras.h"
#include "runc/mounts.h"
#include "util/fd.h"

namespace mctr::runc {

struct InitArgs {
  const oci::Spec* spec = nullptr;
  const Extras* extras = nullptr;              // linux.devices and what oci::Spec does not hold
  std::string rootfs;                          // absolute, on the host
  int sync_fd = -1;                            // our end of the SyncChannel with `create`
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

// `create`'s init, in the order the runtime spec gives: createContainer
// hooks after the mounts and before pivot_root, startContainer just before
// the process. Steps that do not apply to a bundle do nothing.
extern const std::vector<container::InitStep> kCreateSteps;

// Runs kCreateSteps. Never returns: execs the process, or reports the
// failure to `create` (SetupFailed; on stderr once `create` has gone) and exits.
[[noreturn]] void run_init(InitArgs& args);

}  // namespace mctr::runc
