// The container's first process, between clone() and execve(): one ordered
// list of setup steps. Runs in the child; never returns.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "container/config.h"
#include "linux/cgroup/manager.h"
#include "linux/namespaces.h"
#include "linux/rootfs.h"
#include "linux/user.h"
#include "oci/spec.h"

namespace mctr::container {

struct InitStdio {
  int in = -1, out = -1, err = -1;  // dup2'ed onto 0, 1, 2 (when no pty)
  std::string pty_slave;            // when -t
};

// The init's setup, step by step. Every way of starting it (child_start.h)
// runs the same steps, through one function; what differs between them is
// data: which steps its list has, and in what order.
enum class InitStep : uint8_t {
  kSendMountNamespace,       // hand the supervisor our mount namespace (SCM_RIGHTS)
  kPrepareHostFiles,         // overlay dirs, /etc files, the seccomp program (prepare_host_files)
  kMountRootFilesystem,      // private propagation, the overlay, /proc and /dev below the mount point
  kReceiveRootFs,            // --userns, after the id maps: the tree built for us, then /proc, /dev
  kReceiveNetworkNamespace,  // setns(2) into the one the supervisor made (unless --network host)
  kMountSys,                 // sysfs shows the network namespace it is mounted in: after joining it
  kWaitForGo,                // the supervisor has made our cgroup and network
  kJoinCgroupSelf,           // into our cgroup, unless born in it (InitLink::join)
  kJoinCgroupHandedOver,     // into our cgroup through files the supervisor opened for us
  kUnshareCgroupNamespace,   // our cgroup becomes our "/" in /proc/self/cgroup
  kStdio,                    // the terminal, or dup2 onto 0, 1, 2
  kSwitchRoot,               // bind mounts, pivot_root, masked paths, read-only root
  kBecomeNamespaceRoot,      // --userns: setresuid/gid(0): the host's mapped ids from here on
  kMountOwnCgroups,          // /sys/fs/cgroup shows our own group(s)
  kExec,                     // host name, user, capabilities, seccomp, execve
};

// clone(2), then "go" once the supervisor has made our cgroup and network.
extern const std::vector<InitStep> kCloneThenGoSteps;
// clone(CLONE_VM|CLONE_VFORK): no "go" (the supervisor is suspended until we
// exec); its second thread hands us our network namespace and cgroup.
extern const std::vector<InitStep> kSharingMemorySteps;
// clone(CLONE_NEWUSER|...), run --userns: the supervisor writes our id maps
// and builds our root filesystem (linux/idmapped_rootfs.h), then "go".
extern const std::vector<InitStep> kUserNamespaceSteps;

// What the container is: the bundle's config.json (`spec`: the process,
// hostname, mounts, masked paths, seccomp filter, cgroup, and who writes
// the /etc files; see from_bundle.h), its root filesystem, and its stdio.
struct InitPlan {
  const oci::Spec& spec;
  const rootfs::Spec& fs;
  const InitStdio& stdio;
};

// How the init talks with its supervisor.
struct InitLink {
  int sync_fd = -1;                     // "go" in, an error (SetupFailed) or EOF at exec out
  int handoff_fd = -1;                  // kReceiveNetworkNamespace, kJoinCgroupHandedOver
  cgroup::Manager* join = nullptr;      // kJoinCgroupSelf; null: born in the group
  std::filesystem::path seccomp_cache;  // kPrepareHostFiles
  std::vector<sock_filter> seccomp;     // compiled by the supervisor (no kPrepareHostFiles)
};

// Runs `steps` in order, then execs the command. A step that fails throws;
// its message and exit code go to the supervisor on sync_fd and the init
// exits. Never returns.
[[noreturn]] void container_init(const std::vector<InitStep>& steps, const InitPlan& plan,
                                 const InitLink& link);

// The host-side files (overlay dirs, /etc files unless on the bridge) and
// the program of the bundle's linux.seccomp, compiled or from the cache.
std::vector<sock_filter> prepare_host_files(const oci::Spec& spec, const rootfs::Spec& fs_spec,
                                            const std::filesystem::path& seccomp_cache);

// process.env of the bundle: image + -e, plus PATH, HOSTNAME (and TERM with
// -t) when not set, as Docker does. HOME depends on the user's passwd entry
// in the container, so it is added at each start (and exec) when missing
// (with_home), as runc does.
std::vector<std::string> process_env(const Config& cfg);
std::vector<std::string> with_home(std::vector<std::string> env, const std::string& home);

// Find `cmd` in PATH of `env` (when it has no '/'). Throws Error with exit
// code 127 (not found) or 126 (not executable).
std::string find_executable(const std::string& cmd, const std::vector<std::string>& env);

// `exec`'s process-level settings (exec_process, from_bundle.h): the user
// `id`, p's capabilities and noNewPrivileges, and the `seccomp` program
// (seccomp_program of the bundle; empty: no filter).
void apply_process_security(const oci::Process& p, const user::Identity& id,
                            const std::vector<sock_filter>& seccomp);

}  // namespace mctr::container
