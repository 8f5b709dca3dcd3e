// `create`: a container made from a bundle and left waiting for `start`.
// The cgroup of linux.cgroupsPath is made and limited, the init cloned into
// new namespaces (or set into those given by path), and this process leaves
// once the init reports it is ready: the init then belongs to whoever
// reaps orphans for us (conmon and containerd's shim are child subreapers).
#pragma once

#include <sys/types.h>

#include <string>

#include "runc/state_store.h"

namespace mctr::runc {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool systemd_cgroup = false;
};

// Returns the init's pid (a child of ours). Throws Error with what failed,
// after undoing what was made (cgroup, state directory, the init).
pid_t create_container(const Store& store, const CreateOptions& o);

// --pid-file: the pid written to a temp file and renamed, so a reader never sees half.
void write_pid_file(const std::string& path, pid_t pid);

}  // namespace mctr::runc
