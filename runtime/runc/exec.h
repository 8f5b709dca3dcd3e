// `exec`: one more process in a running container, as runc starts it: it
// joins the init's namespaces (the PID namespace through a fork, since
// setns only moves children there) and cgroup, then sets itself up from a
// process.json (or from the command line over the container's own process)
// and execs. With --detach this process leaves once it runs; else it waits
// and exits with its status.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "oci/spec.h"
#include "runc/state_store.h"

namespace mctr::runc {

struct ExecOptions {
  std::string id;
  std::string process_file;  // --process: a config.json "process" object
  std::vector<std::string> args;
  std::vector<std::string> env;  // --env KEY=VALUE, added
  std::string cwd;
  std::string user;  // "uid[:gid]"
  std::vector<std::string> caps;
  bool tty = false;
  bool detach = false;
  bool no_new_privs = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
};

// The process to run: --process as is, or the container's with args/env/cwd/user replaced.
oci::Process exec_process(const ContainerState& s, const ExecOptions& o);

// Returns the exit status of the process (0 with --detach once it runs).
int exec_in_container(const Store& store, const ExecOptions& o);

}  // namespace mctr::runc
