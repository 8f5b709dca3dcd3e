#include "linux/namespaces.h"

#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/explain.h"

namespace mctr::linux_ns {

int container_clone_flags(bool new_netns) {
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (new_netns) flags |= CLONE_NEWNET;
  return flags;
}

// clone3 (Linux 5.3+; CLONE_INTO_CGROUP 5.7+): the child is created inside
// the cgroup. Same fork-like use: no stack given, the child returns here.
static long clone3_into_cgroup(int flags, int cgroup_fd) {
  clone_args args{};
  args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  return ::syscall(SYS_clone3, &args, sizeof args);
}

pid_t clone_process(int flags, int cgroup_fd, bool* joined) {
  if (joined) *joined = false;
  if (explain::on()) {
    std::string cmd = "unshare --fork";
    if (flags & CLONE_NEWPID) cmd += " --pid";
    if (flags & CLONE_NEWNS) cmd += " --mount";
    if (flags & CLONE_NEWUTS) cmd += " --uts";
    if (flags & CLONE_NEWIPC) cmd += " --ipc";
    if (flags & CLONE_NEWNET) cmd += " --net";
    explain::step("clone(2)", cmd + "   # CLONE_NEW* flags: new namespaces for the child");
  }
  if (cgroup_fd >= 0) {
    long pid = clone3_into_cgroup(flags, cgroup_fd);
    if (pid >= 0) {
      if (joined) *joined = true;  // in the parent, and in the child's copy of *joined
      if (pid > 0)
        explain::step("clone3(2)",
                      "# CLONE_INTO_CGROUP: the child starts inside its cgroup (no cgroup.procs write)");
      return static_cast<pid_t>(pid);
    }
    if (errno != ENOSYS && errno != E2BIG && errno != EINVAL) throw_sys("clone3(CLONE_INTO_CGROUP)");
    // An older kernel: a plain clone, then the usual cgroup.procs write.
  }
  // The raw syscall with a NULL stack behaves like fork(): the child gets a
  // copy-on-write copy of our memory and returns here with 0. SIGCHLD makes
  // the parent's waitpid() see the child like any forked one.
  long pid =
      ::syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) throw_sys("clone");
  return static_cast<pid_t>(pid);
}

SyncChannel::SyncChannel() {
  int sv[2];
  check_sys(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
  parent_.reset(sv[0]);
  child_.reset(sv[1]);
}

void SyncChannel::send(int fd, const std::string& msg) {
  while (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw_sys("send", "sync socket");
  }
}

bool SyncChannel::child_spoke(int timeout_ms) const {
  pollfd p{parent_.get(), POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

std::optional<std::string> SyncChannel::recv(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("recv", "sync socket");
    if (n == 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
}

}  // namespace mctr::linux_ns
