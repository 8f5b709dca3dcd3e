// The container's first process, between clone() and execve(): one linear
// pipeline of setup steps. Runs in the child; never returns.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "container/config.h"
#include "linux/cgroup/manager.h"
#include "linux/namespaces.h"
#include "linux/rootfs.h"
#include "oci/spec.h"

namespace mctr::container {

struct InitStdio {
  int in = -1, out = -1, err = -1;  // dup2'ed onto 0, 1, 2 (when no pty)
  std::string pty_slave;            // when -t
};

// The child runs what the bundle's config.json says (`spec`: the process,
// hostname, mounts, masked paths; see from_bundle.h); `cfg` gives only the
// private parts: the container id (its cgroup), the network mode (who
// writes the /etc files) and the seccomp profile to compile.
// The child prepares its host-side files itself (overlay dirs, the /etc
// files unless the supervisor writes them for the bridge, the seccomp
// program from the cache in `seccomp_cache`) and builds its root filesystem
// while the supervisor creates its cgroup. With `join`, the child moves
// itself into that cgroup once told "go" (else it was born there, or the
// parent moves it).
[[noreturn]] void container_init(const Config& cfg, const oci::Spec& spec, const rootfs::Spec& fs_spec,
                                 const InitStdio& stdio, linux_ns::SyncChannel& sync,
                                 const std::filesystem::path& seccomp_cache, cgroup::Manager* join);

// The host-side files (overlay dirs, /etc files unless on the bridge) and
// the seccomp program, compiled or from the cache.
std::vector<sock_filter> prepare_host_files(const Config& cfg, const rootfs::Spec& fs_spec,
                                            const std::filesystem::path& seccomp_cache);

// The same pipeline in a child started by linux_ns::clone_sharing_memory:
// the supervisor has made the host files and the seccomp program, and is
// suspended until we exec, so there is no "go" to wait for. Its second
// thread makes our network namespace and cgroup meanwhile and hands them
// over on handoff_fd (see receive_from_supervisor): we are cloned without
// CLONE_NEWNET and setns(2) into the namespace it made before mounting /sys,
// and join the cgroup last, after pivot_root, through files it opened. First
// we send the supervisor our mount namespace (SCM_RIGHTS on sync_fd); a
// failure is reported as in container_init. Touches nothing of the parent's
// but its memory (see clone_sharing_memory).
[[noreturn]] void container_init_prepared(const Config& cfg, const oci::Spec& spec,
                                          const rootfs::Spec& fs_spec, const InitStdio& stdio, int sync_fd,
                                          const std::vector<sock_filter>& seccomp, int handoff_fd);

// The environment the command sees: image + -e, plus PATH, HOSTNAME, HOME
// (and TERM with -t) when not set, as Docker does.
std::vector<std::string> container_env(const Config& cfg, const std::string& home);
// The same without HOME: process.env of the bundle. HOME depends on the
// user's passwd entry in the container, so it is added at each start when
// missing (with_home), as runc does.
std::vector<std::string> process_env(const Config& cfg);
std::vector<std::string> with_home(std::vector<std::string> env, const std::string& home);

// Find `cmd` in PATH of `env` (when it has no '/'). Throws Error with exit
// code 127 (not found) or 126 (not executable).
std::string find_executable(const std::string& cmd, const std::vector<std::string>& env);

// Apply the process-level settings shared by the init and `exec`:
// user, capabilities, no_new_privs, seccomp.
// A precompiled `seccomp` program is loaded as is; without one (exec) the
// profile is compiled here.
void apply_process_security(const Config& cfg, const std::string& user_spec,
                            const std::vector<sock_filter>* seccomp = nullptr);

}  // namespace mctr::container
