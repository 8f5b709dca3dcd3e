#include "linux/namespaces.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "linux/loopback.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/scope_guard.h"

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

// The clone as unshare(1) would make it.
static void explain_clone(const char* syscall, int flags, const std::string& note) {
  if (!explain::on()) return;
  std::string cmd = "unshare --fork";
  if (flags & CLONE_NEWPID) cmd += " --pid";
  if (flags & CLONE_NEWNS) cmd += " --mount";
  if (flags & CLONE_NEWUTS) cmd += " --uts";
  if (flags & CLONE_NEWIPC) cmd += " --ipc";
  if (flags & CLONE_NEWNET) cmd += " --net";
  if (flags & CLONE_NEWUSER) cmd += " --user";  // run --userns: the maps are written from outside
  explain::step(explain::Kind::kNamespaces, syscall, cmd + "   # " + note);
}

pid_t clone_process(int flags, int cgroup_fd, bool* joined) {
  if (joined) *joined = false;
  explain_clone("clone(2)", flags, "CLONE_NEW* flags: new namespaces for the child");
  if (cgroup_fd >= 0) {
    long pid = clone3_into_cgroup(flags, cgroup_fd);
    if (pid >= 0) {
      if (joined) *joined = true;  // in the parent, and in the child's copy of *joined
      if (pid > 0 && explain::on())
        explain::step(
            explain::Kind::kJoinCgroup, "clone3(2)",
            "echo 0 > " +
                std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(cgroup_fd)).string() +
                "/cgroup.procs   # CLONE_INTO_CGROUP: the child starts inside its cgroup");
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

namespace {

// The stack of a clone_sharing_memory child: 1 MiB of address space, of
// which only the pages it touches get memory, and a guard page below that
// turns an overflow into a crash instead of a write into our memory.
class ChildStack {
 public:
  static constexpr size_t kSize = 1 << 20;
  ChildStack() {
    void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) throw_sys("mmap", "child stack");
    base_ = static_cast<char*>(p);
    if (::mprotect(base_, 4096, PROT_NONE) < 0) {
      ::munmap(base_, kSize);
      throw_sys("mprotect", "child stack guard");
    }
  }
  ~ChildStack() { ::munmap(base_, kSize); }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  void* top() const { return base_ + kSize; }  // stacks grow down

 private:
  char* base_ = nullptr;
};

int run_child(void* child) {
  (*static_cast<const std::function<void()>*>(child))();
  ::_exit(kExitRuntimeError);  // not reached: the child execs or _exits
}

}  // namespace

pid_t clone_sharing_memory(int flags, const std::function<void()>& child, pid_t* early_pid) {
  explain_clone("clone(2)", flags, "CLONE_VM|CLONE_VFORK too: the child runs in our memory until its execve");
  ChildStack stack;
  // glibc's clone(): the child starts in run_child on the new stack. We
  // return only once it has exec'd or exited, so the stack can go then.
  int pid = ::clone(run_child, stack.top(),
                    flags | CLONE_VM | CLONE_VFORK | SIGCHLD | (early_pid ? CLONE_PARENT_SETTID : 0),
                    const_cast<std::function<void()>*>(&child), early_pid);
  if (pid < 0) throw_sys("clone(CLONE_VM|CLONE_VFORK)");
  // The child ran in our memory: its explain::set_place was ours too.
  explain::set_place(explain::Place::kHost);
  return pid;
}

bool can_share_memory() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

UniqueFd new_network_namespace() {
  const char* self = "/proc/thread-self/ns/net";
  UniqueFd ours(check_sys(::open(self, O_RDONLY | O_CLOEXEC), "open", self));
  explain::step(explain::Kind::kNamespaces, "unshare(2)",
                "unshare --net   # the container's network namespace");
  check_sys(::unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)");
  // From here this thread is in the new namespace, until the setns below
  // (or, when a step fails, this guard's).
  ScopeGuard back_home([&] { ::setns(ours.get(), CLONE_NEWNET); });
  UniqueFd made(check_sys(::open(self, O_RDONLY | O_CLOEXEC), "open", self));
  explain::set_place(explain::Place::kContainer);  // this thread's steps, in the new namespace
  bring_up_loopback();
  explain::set_place(explain::Place::kHost);
  back_home.dismiss();
  check_sys(::setns(ours.get(), CLONE_NEWNET), "setns(CLONE_NEWNET)", self);
  return made;
}

NetworkNamespaceVisit::NetworkNamespaceVisit(int netns) {
  if (netns < 0) return;
  const char* self = "/proc/thread-self/ns/net";
  UniqueFd home(check_sys(::open(self, O_RDONLY | O_CLOEXEC), "open", self));
  explain::step(explain::Kind::kNote, "setns(2)",
                "# clone from inside the network namespace made in advance: the child is born in it");
  check_sys(::setns(netns, CLONE_NEWNET), "setns(CLONE_NEWNET)");
  home_ = std::move(home);
}

NetworkNamespaceVisit::~NetworkNamespaceVisit() {
  if (home_) ::setns(home_.get(), CLONE_NEWNET);
}

void NetworkNamespaceVisit::leave() {
  if (!home_) return;
  check_sys(::setns(home_.get(), CLONE_NEWNET), "setns(CLONE_NEWNET)",
            "the supervisor's own network namespace");
  home_.reset();
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

void SyncChannel::send_with_fds(int sock, const std::string& msg, const std::vector<int>& fds) {
  if (fds.empty() || fds.size() > kMaxFds) throw Error("send_with_fds: 1 to 16 fds");
  iovec iov{const_cast<char*>(msg.data()), msg.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;  // the kernel installs copies of the fds in the receiver
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  while (::sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) throw_sys("sendmsg", "sync socket");
}

std::optional<std::string> SyncChannel::recv_from_child(UniqueFd& fd) {
  std::vector<UniqueFd> fds;
  auto msg = recv(parent_.get(), &fds);
  if (!fds.empty()) fd = std::move(fds.front());
  return msg;
}

std::optional<std::string> SyncChannel::recv(int fd, std::vector<UniqueFd>* passed) {
  char buf[4096];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  for (;;) {
    iovec iov{buf, sizeof buf};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("recvmsg", "sync socket");
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
        if (passed)
          passed->emplace_back(received);
        else
          ::close(received);
      }
    }
    if (n == 0) return std::nullopt;  // EOF: the child exec'd or exited
    return std::string(buf, static_cast<size_t>(n));
  }
}

}  // namespace mctr::linux_ns
