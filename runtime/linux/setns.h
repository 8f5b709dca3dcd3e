// Joining a running container's namespaces, as `nsenter -t PID -a` does.
#pragma once

#include <sys/types.h>

#include <vector>

#include "util/fd.h"

namespace mctr::linux_ns {

struct NamespaceFds {
  pid_t pid = 0;
  std::vector<std::pair<int, UniqueFd>> fds;  // (CLONE_NEW* type, fd)
};

// Open /proc/PID/ns/{user,ipc,uts,net,pid,cgroup,mnt} (those that differ from ours).
NamespaceFds open_namespaces(pid_t pid);
// setns() into each, the user namespace first, the mount namespace last (it
// changes our root and cwd to the container's), then setresuid/gid(0) when
// a user namespace was joined. The PID namespace applies to children forked
// after. Single-threaded callers only (setns of a user namespace).
void enter_namespaces(const NamespaceFds& ns);

}  // namespace mctr::linux_ns
