// clone() into new namespaces, and the parent<->child sync channel.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mctr::linux_ns {

// Flags for a container: new PID, mount, UTS and IPC namespaces, plus a new
// network namespace unless the container shares the host's network.
// (The cgroup namespace is unshared later by the child itself, once the
// parent has moved it into its cgroup: a cgroup namespace's root is the
// cgroup the process is in when the namespace is created.)
int container_clone_flags(bool new_netns);

// clone(2) used like fork(2): the child continues on a copy of our stack.
// Returns the child's pid in the parent and 0 in the child.
// With a cgroup v2 directory fd, clone3(CLONE_INTO_CGROUP) starts the child
// in that cgroup (no migration, and so no wait for the kernel's cgroup lock
// afterwards) and sets *joined; an older kernel gets a plain clone.
pid_t clone_process(int flags, int cgroup_fd = -1, bool* joined = nullptr);

// clone(2) like vfork(2), as posix_spawn does: the child shares our memory
// (CLONE_VM) and runs `child` on a stack of its own, while we are suspended
// (CLONE_VFORK) until it execs or exits. So no copy of our page tables, no
// copy-on-write fault for each page the child writes and no fault again for
// each code page it runs (a forked child's page tables start without them).
// Until it execs, the child writes into our memory but has its own file
// descriptors, so it must leave alone every object we use afterwards, and
// never return: `child` ends in execve() or _exit().
// Returns the child's pid; `child` has exec'd or exited by then. Our other
// threads, which run meanwhile, can learn the pid earlier: the kernel stores
// it in *early_pid before the child starts (CLONE_PARENT_SETTID).
pid_t clone_sharing_memory(int flags, const std::function<void()>& child, pid_t* early_pid = nullptr);
// False in ASan builds: the sanitizer does not know the child's stack.
bool can_share_memory();

// A new network namespace with its loopback up, made by the calling thread
// (unshare(2) moves only the calling thread), which then returns to the
// namespace it was in. Returns an fd that keeps the new one alive, for a
// process to setns(2) into: so it can be made before the container's init
// exists, or on another thread while the init builds its root filesystem.
UniqueFd new_network_namespace();

// The calling thread in network namespace `netns` (none: -1) until leave()
// or the end of the scope: a process it clones meanwhile is born there, as
// with CLONE_NEWNET.
class NetworkNamespaceVisit {
 public:
  explicit NetworkNamespaceVisit(int netns);
  ~NetworkNamespaceVisit();  // back home, if leave() was not called
  NetworkNamespaceVisit(const NetworkNamespaceVisit&) = delete;
  NetworkNamespaceVisit& operator=(const NetworkNamespaceVisit&) = delete;
  // Back to the namespace the thread came from; throws if the kernel refuses.
  void leave();
  // Our own namespace's fd (-1 when not visiting): a child closes it.
  int home_fd() const { return home_.get(); }

 private:
  UniqueFd home_;
};

// A SOCK_SEQPACKET socketpair: each send() is one message, and when the child
// execs, its CLOEXEC end closes, which the parent reads as "exec succeeded".
class SyncChannel {
 public:
  SyncChannel();
  // After fork/clone: each side keeps its end.
  void become_parent() { child_.reset(); }
  void become_child() { parent_.reset(); }
  void send_to_child(const std::string& msg) { send(parent_.get(), msg); }
  void send_to_parent(const std::string& msg) { send(child_.get(), msg); }
  // nullopt when the other side closed (or exec'd).
  std::optional<std::string> recv_from_child() { return recv(parent_.get()); }
  std::optional<std::string> recv_from_parent() { return recv(child_.get()); }
  int child_fd() const { return child_.get(); }
  int parent_fd() const { return parent_.get(); }
  // A message with copies of some of our fds attached (SCM_RIGHTS, at most kMaxFds).
  static void send_with_fds(int sock, const std::string& msg, const std::vector<int>& fds);
  static void send_with_fd(int sock, const std::string& msg, int fd) { send_with_fds(sock, msg, {fd}); }
  // The child's next message and the fd that came with it, if any.
  std::optional<std::string> recv_from_child(UniqueFd& fd);
  static void send(int fd, const std::string& msg);
  // The next message on `sock` (either end) and the fds that came with it.
  static std::optional<std::string> recv_with_fds(int sock, std::vector<UniqueFd>& fds) {
    return recv(sock, &fds);
  }
  static constexpr size_t kMaxFds = 16;
  // Parent side: the child wrote something (or closed its end) within timeout_ms.
  bool child_spoke(int timeout_ms) const;

 private:
  static std::optional<std::string> recv(int fd, std::vector<UniqueFd>* passed = nullptr);
  UniqueFd parent_, child_;
};

}  // namespace mctr::linux_ns
