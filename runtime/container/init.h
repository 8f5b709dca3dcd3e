// The container's first process, between clone() and execve(): one ordered
// list of setup steps. Runs in the child; never returns.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "container/config.h"
#include "linux/cgroup/manager.h"
#include "linux/cgroup_mount.h"
#include "linux/namespaces.h"
#include "linux/rootfs.h"
#include "linux/user.h"
#include "oci/spec.h"

namespace mctr::container {

struct InitStdio {
  int in = -1, out = -1, err = -1;    // dup2'ed onto 0, 1, 2 (without a terminal)
  bool terminal = false;              // -t: a pty in the container's devpts instead (kConsole)
  unsigned short rows = 0, cols = 0;  // -t: its size, the attached CLI's terminal's (0: none)
};

// The init's setup, step by step. Every way of starting it runs its own
// ordered list of these through one runner (run_init_steps): minictr run's
// three (child_start.h, below) and minictr-runc create's (runc/init.h).
// What differs between them is data: which steps a list has, and in what
// order. Steps marked "run" or "runc" belong to one of the two; the others
// are in both, implemented once (the functions below the lists).
enum class InitStep : uint8_t {
  kSendMountNamespace,       // run: hand the supervisor our mount namespace (SCM_RIGHTS)
  kPrepareHostFiles,         // run: overlay dirs, /etc files, the seccomp program (prepare_host_files)
  kMountRootFilesystem,      // run: private propagation, the overlay, /proc and /dev below the mount point
  kReceiveRootFs,            // run --userns, after the id maps: the tree built for us, then /proc, /dev
  kReceiveNetworkNamespace,  // run: setns(2) into the one the supervisor made (unless --network host)
  kMountSys,                 // run: sysfs shows the network namespace it is mounted in: after joining it
  kWaitForGo,                // the parent has made our cgroup and network (and written our id maps)
  kJoinCgroupSelf,           // run: into our cgroup, unless born in it (InitLink::join)
  kJoinCgroupHandedOver,     // run: into our cgroup through files the supervisor opened for us
  kJoinNamespaces,           // runc: setns(2) into the namespaces linux.namespaces gives a path
  kUnshareCgroupNamespace,   // our cgroup becomes our "/" in /proc/self/cgroup
  kStdio,                    // run: setsid, then (without a terminal) dup2 onto 0, 1, 2
  kNewSession,               // runc: setsid(2) (the console, if any, comes after pivot_root)
  kMountBundle,              // runc: the bundle's mounts in order, under root.path (runc/mounts.h)
  kMakeDeviceNodes,          // runc: linux.devices under root.path/dev
  kBindHostCgroups,          // runc: /sys/fs/cgroup without a cgroup namespace: the host's dirs
  kCreateContainerHooks,     // runc: `create` runs prestart/createRuntime, then we createContainer
  kBindMounts,               // run: the bind mounts (-v), after the supervisor wrote /etc/hosts
  kPivotRoot,                // into the new root (runc: or MS_MOVE with --no-pivot, or chroot)
  kBecomeNamespaceRoot,      // with a new user namespace: setresuid/gid(0), the host's mapped ids
  kMountOwnCgroups,          // /sys/fs/cgroup shows our own group(s)
  kConsole,                // a pty in our devpts, its master sent to the supervisor (runc: --console-socket)
  kHostname,               // sethostname(2)
  kDomainname,             // runc: setdomainname(2)
  kLoopback,               // lo up, in a network namespace of our own
  kSysctls,                // runc: linux.sysctl
  kMaskPaths,              // linux.maskedPaths, readonlyPaths
  kReadOnlyRoot,           // root.readonly
  kRootPropagation,        // runc: linux.rootfsPropagation shared/rshared on "/"
  kPrepareProcess,         // runc: cwd, user, the executable, rlimits: found before "ready"
  kReportReady,            // runc: Ready to `create`, which then exits
  kWaitForStart,           // runc: open(2) of the exec fifo blocks until `start`
  kStartContainerHooks,    // runc: startContainer, in the container
  kReceiveSeccompProgram,  // run: the supervisor's thread has compiled it into InitLink::seccomp
  kExec,                   // user, capabilities, seccomp, execve
};

// One way of running the steps: the context they work in (the bundle, the
// sockets to the parent, what earlier steps found) and what each step does
// there, mostly a call of a function below. minictr run's is in init.cpp,
// minictr-runc's in runc/init.cpp.
class InitSide {
 public:
  virtual ~InitSide() = default;
  virtual void run(InitStep step) = 0;
  // A step threw `e`: tell the parent (while it listens), return the exit code.
  virtual int failed(const std::exception& e) noexcept = 0;
};

// The runner: undumpable first, then `steps` in order; the last one execs.
// A step that throws ends the init with side.failed()'s exit code. Never returns.
[[noreturn]] void run_init_steps(const std::vector<InitStep>& steps, InitSide& side);

// minictr run's lists (child_start.h):
// clone(2), then "go" once the supervisor has made our cgroup and network.
extern const std::vector<InitStep> kCloneThenGoSteps;
// clone(CLONE_VM|CLONE_VFORK): no "go" (the supervisor is suspended until we
// exec); its second thread hands us our network namespace, /etc files,
// cgroup and seccomp program, each as soon as it is ready.
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
  int handoff_fd = -1;                  // kReceiveNetworkNamespace, kJoinCgroupHandedOver, ... (the thread's)
  cgroup::Manager* join = nullptr;      // kJoinCgroupSelf; null: born in the group
  std::filesystem::path seccomp_cache;  // kPrepareHostFiles
  // Compiled by the supervisor (no kPrepareHostFiles): before the clone
  // (--userns), or by its thread while we share its memory (read after
  // kReceiveSeccompProgram).
  std::vector<sock_filter> seccomp;
  bool born_in_netns = false;  // kReceiveNetworkNamespace: nothing to receive
};

// minictr run's init: run_init_steps over `steps` with the supervisor at
// the other end of link.sync_fd. A step that fails sends its message and
// exit code there (SetupFailed) and the init exits. Never returns.
[[noreturn]] void container_init(const std::vector<InitStep>& steps, const InitPlan& plan,
                                 const InitLink& link);

// The host-side files (overlay dirs, /etc files unless on the bridge) and
// the program of the bundle's linux.seccomp, compiled or from the cache.
std::vector<sock_filter> prepare_host_files(const oci::Spec& spec, const rootfs::Spec& fs_spec,
                                            const std::filesystem::path& seccomp_cache);
// Its parts, for a start that spreads them out: the overlay's upper, work
// and mount point dirs; /etc/hostname, hosts and resolv.conf (unless the
// supervisor writes them once it knows the bridge address).
void prepare_overlay_dirs(const rootfs::Spec& fs_spec);
void write_host_etc_files(const oci::Spec& spec, const rootfs::Spec& fs_spec);

// process.env of the bundle: image + -e, plus PATH, HOSTNAME (and TERM with
// -t) when not set, as Docker does. HOME depends on the user's passwd entry
// in the container, so it is added at each start (and exec) when missing
// (with_home), as runc does.
std::vector<std::string> process_env(const Config& cfg);
std::vector<std::string> with_home(std::vector<std::string> env, const std::string& home);

// Find `cmd` in PATH of `env` (when it has no '/'). Throws Error with exit
// code 127 (not found) or 126 (not executable).
std::string find_executable(const std::string& cmd, const std::vector<std::string>& env);

// The steps both inits have, each once.
//
// kWaitForGo: the parent's Go on `sync_fd` (throws when it went away).
void wait_for_go(int sync_fd);
// kBecomeNamespaceRoot: root of our new user namespace.
void become_namespace_root();
// kUnshareCgroupNamespace: unshare(CLONE_NEWCGROUP); returns the hierarchies
// where we are in the container's own group (`leaf`: its last path
// component), read just before, for kMountOwnCgroups.
rootfs::OwnCgroups unshare_cgroup_namespace(const std::string& leaf);
// kHostname.
void set_hostname(const std::string& name);
// kExec, before the user switch: the working directory, made when missing
// (as Docker and runc do), resolved inside the root.
void enter_working_dir(const std::string& dir);
// kExec: the user, the capabilities (`set_capabilities`, after the user
// switch), no_new_privs and the seccomp filter (`load_filter`), in the
// order the kernel needs.
void apply_security(const user::Identity& id, bool no_new_privs,
                    const std::function<void()>& set_capabilities, const std::function<void()>& load_filter);
// kExec, last: signals back to default, then execve(2). Throws Error (127
// for a missing file, 126 otherwise) when it fails.
[[noreturn]] void exec_command_line(const std::string& executable, const std::vector<std::string>& args,
                                    const std::vector<std::string>& env);

// `exec`'s process-level settings (exec_process, from_bundle.h): the user
// `id`, p's capabilities and noNewPrivileges, and the `seccomp` program
// (seccomp_program of the bundle; empty: no filter).
void apply_process_security(const oci::Process& p, const user::Identity& id,
                            const std::vector<sock_filter>& seccomp);

}  // namespace mctr::container
