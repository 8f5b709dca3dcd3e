// `minictr exec`: run another process in a running container — join its
// cgroup, setns() into each of its namespaces, fork into its PID namespace,
// then apply the same user, capabilities and seccomp as its init.
#pragma once

#include <string>
#include <vector>

#include "container/state.h"

namespace mctr::container {

struct ExecOptions {
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string workdir, user;
  bool tty = false, interactive = false, detach = false, privileged = false;
};

// Returns the process's exit code (0 right away with detach).
int exec_in_container(const Store& store, const std::string& id, const ExecOptions& o);

}  // namespace mctr::container
