// The last steps before a container's process runs, shared by the init
// (`create`) and `exec`: in the container's root already, turn a
// config.json "process" into the working directory, environment, user,
// limits, capabilities, no_new_privs and seccomp filter, then execve.
// Split in two so the init can wait for `start` in between (see init.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "linux/security/seccomp_profile.h"
#include "linux/user.h"
#include "oci/spec.h"

namespace mctr::runc {

struct PreparedProcess {
  const oci::Process* process = nullptr;
  user::Identity identity;
  std::vector<std::string> env;  // process.env, plus HOME when missing
  std::string executable;        // process.args[0] found in PATH
  std::optional<security::Profile> seccomp;
};

// In the container's root: cwd (made when missing), identity (HOME from its
// /etc/passwd), the executable in PATH; the seccomp profile of `seccomp`
// parsed (not loaded). Throws Error (exit code 127/126 for a missing or
// non-executable command).
PreparedProcess prepare_process(const oci::Process& p, const std::optional<oci::Seccomp>& seccomp);

// process.rlimits and process.oomScoreAdj (needs our privileges: before become_user).
void apply_limits(const oci::Process& p);

// User, umask, the five capability sets, no_new_privs and the seccomp
// filter, in the order the kernel requires; then execve. Never returns:
// throws Error when the execve fails.
[[noreturn]] void become_user_and_exec(const PreparedProcess& prepared);

}  // namespace mctr::runc
