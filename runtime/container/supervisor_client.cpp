// The CLI's side of the supervisor: start it, wait for "started", and when
// attached wait for "exited" while forwarding the signals the CLI gets.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "container/network_in_advance.h"
#include "container/protocol.h"
#include "container/supervisor.h"
#include "container/supervisor_process.h"
#include "linux/security/self_exe.h"
#include "util/error.h"
#include "util/explain.h"

namespace mctr::container {

namespace {

// The supervisor's command line (parsed back by supervisor_process_main).
constexpr const char* kShimName = "minictr-shim";

// The supervisor's fds, the same in every supervisor: its socket to us, the
// --explain ones (when on), and its own binary. That one stays open until it
// exits: closing the last fd of an open_tree() clone unmounts it, and the
// kernel then waits for an RCU grace period, which nobody waits for at exit.
enum SupervisorFd : int { kStatusFd = 3, kExplainFd = 4, kRecordsFd = 5, kBinaryFd = 6 };

// posix_spawn's file actions: `fd` at `target` in the child (none: -1).
// The source is first copied above the targets, so that no dup2 overwrites
// another source sitting at a target's number.
class ChildFds {
 public:
  ChildFds() { check_errno(::posix_spawn_file_actions_init(&actions_), "posix_spawn_file_actions_init"); }
  ~ChildFds() { ::posix_spawn_file_actions_destroy(&actions_); }
  ChildFds(const ChildFds&) = delete;
  ChildFds& operator=(const ChildFds&) = delete;

  void put(int fd, SupervisorFd target) {
    if (fd < 0) return;
    copies_.emplace_back(check_sys(::fcntl(fd, F_DUPFD_CLOEXEC, kBinaryFd + 1), "fcntl(F_DUPFD_CLOEXEC)"));
    check_errno(::posix_spawn_file_actions_adddup2(&actions_, copies_.back().get(), target),
                "posix_spawn_file_actions_adddup2");
  }
  // Everything else closed (0-2 stay: the attached CLI's terminal or pipes).
  const posix_spawn_file_actions_t* close_the_rest() {
    check_errno(::posix_spawn_file_actions_addclosefrom_np(&actions_, kBinaryFd + 1),
                "posix_spawn_file_actions_addclosefrom_np");
    return &actions_;
  }

 private:
  static void check_errno(int err, const char* what) {
    if (err != 0) throw SysError(what, "", err);
  }
  posix_spawn_file_actions_t actions_;
  std::vector<UniqueFd> copies_;
};

// The supervisor's process: the read-only copy of this binary (see spawn
// below) as `minictr-shim ROOT 3 attached|detached 4|-1 5|-1`, in a
// session of its own (the terminal's ^C and hang-up do not reach it).
pid_t spawn_supervisor_process(const std::filesystem::path& root, int status_fd, bool attached,
                               const sigset_t& mask) {
  UniqueFd binary = security::open_read_only_self();
  ChildFds fds;
  fds.put(status_fd, kStatusFd);
  fds.put(explain::fd(), kExplainFd);
  fds.put(explain::records_fd(), kRecordsFd);
  fds.put(binary.get(), kBinaryFd);
  std::string root_s = root.string(), status = std::to_string(kStatusFd),
              explain_fd = std::to_string(explain::fd() >= 0 ? kExplainFd : -1),
              records_fd = std::to_string(explain::records_fd() >= 0 ? kRecordsFd : -1),
              mode = attached ? "attached" : "detached";
  char* argv[] = {const_cast<char*>(kShimName),
                  root_s.data(),
                  status.data(),
                  mode.data(),
                  explain_fd.data(),
                  records_fd.data(),
                  nullptr};
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  // Our main thread's signal mask (the spawning thread blocks every signal).
  ::posix_spawnattr_setsigmask(&attr, &mask);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  // posix_spawn, not fork: the child runs in our memory until its exec
  // (clone(CLONE_VM | CLONE_VFORK)), so the kernel copies no page tables and
  // neither process takes a copy-on-write fault for each page it writes.
  // The path names the copy by its fd, which the file actions put at 6.
  const std::string path = "/proc/self/fd/" + std::to_string(kBinaryFd);
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, path.c_str(), fds.close_the_rest(), &attr, argv, environ);
  ::posix_spawnattr_destroy(&attr);
  if (err != 0) throw SysError("posix_spawn", path + " (the read-only copy of minictr)", err);
  return pid;
}

}  // namespace

// The supervisor is a program of its own, as containerd's shim is: this
// binary again, exec'd from a read-only copy of itself (security/self_exe.h).
// The container's init is cloned from it and runs its code until its own
// execve, so a process in the container that reaches the init's
// /proc/PID/exe (or starts "#!/proc/self/exe") finds a file nobody can
// write, never the host's binary (CVE-2019-5736). It is spawned by a second
// thread before the container is created: its exec (posix_spawn waits for
// it) and the network namespace made after it run while we create the
// container.
SupervisorHandle SupervisorHandle::spawn(const std::filesystem::path& root, bool attached,
                                         bool make_network_namespace) {
  int sv[2];
  check_sys(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
  SupervisorHandle h;
  h.status_.reset(sv[0]);
  auto theirs = std::make_shared<UniqueFd>(sv[1]);
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  h.netns_follows_ = make_network_namespace;
  h.launching_ =
      std::make_unique<InAdvance<Launched>>([root, attached, make_network_namespace, theirs, mask] {
        Launched made;
        made.pid = spawn_supervisor_process(root, theirs->get(), attached, mask);
        theirs->reset();  // the supervisor's end is its own now
        if (make_network_namespace) made.netns = make_network_namespace_in_advance();
        return made;
      });
  // It lives on when this CLI process exits (re-parented to init or the
  // nearest subreaper), and exits at once if we never send it an id.
  return h;
}

// "go" as soon as the container exists, the network namespace when made:
// the supervisor reads the container's config and prepares its root
// filesystem meanwhile.
void SupervisorHandle::start(const std::string& id, int overlay) {
  std::vector<int> with;
  if (overlay >= 0) with.push_back(overlay);
  protocol::send(status_.get(), {protocol::Kind::Go, netns_follows_ ? 1 : 0, id}, with);
  Launched made;
  try {
    made = launching_->take();
  } catch (const std::exception& e) {
    throw SupervisorNotStarted(e.what());
  }
  supervisor_ = made.pid;
  if (!netns_follows_) return;
  std::vector<int> fds;
  if (made.netns) fds.push_back(made.netns.get());
  try {
    protocol::send(status_.get(), {protocol::Kind::NetNs, 0, ""}, fds);
  } catch (const SysError& e) {
    // It failed before it needed the namespace: wait_started() reads why.
    if (e.err() != EPIPE && e.err() != ECONNRESET) throw;
  }
}

UniqueFd NetworkNamespaceFromCli::take() {
  if (!std::exchange(follows_, false)) return UniqueFd();
  std::vector<UniqueFd> fds;
  auto msg = protocol::recv(status_fd_, &fds);
  if (!msg || msg->kind != protocol::Kind::NetNs || fds.empty()) return UniqueFd();
  return std::move(fds.front());
}

SupervisorHandle SupervisorHandle::launch(const std::filesystem::path& root, const std::string& id,
                                          bool attached) {
  SupervisorHandle h = spawn(root, attached);
  h.start(id);
  return h;
}

// The spawned supervisor: the command line spawn_supervisor_process made, then the
// container's id from the CLI (none: the CLI failed to create it) with its
// root filesystem made in advance, if any; the network namespace it makes
// in advance, if any, follows.
[[noreturn]] void supervisor_process_main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "%s: started by minictr, not by hand\n", kShimName);
    ::_exit(kExitRuntimeError);
  }
  const std::filesystem::path root = argv[1];
  const int status_fd = std::atoi(argv[2]);
  const bool attached = std::string_view(argv[3]) == "attached";
  // Ours, not the container's (kBinaryFd stays open: see SupervisorFd).
  for (int i : {2, 4, 5})
    if (int fd = std::atoi(argv[i]); fd > 2) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  explain::enable(std::atoi(argv[4]));
  explain::enable_records(std::atoi(argv[5]));
  std::vector<UniqueFd> overlay;
  auto go = protocol::recv(status_fd, &overlay);
  if (!go || go->kind != protocol::Kind::Go) ::_exit(0);
  supervisor_main(root, go->text, status_fd, attached,
                  {overlay.empty() ? UniqueFd() : std::move(overlay.front()),
                   NetworkNamespaceFromCli(status_fd, go->number == 1)});
}

StartResult SupervisorHandle::wait_started() {
  StartResult r;
  auto msg = protocol::recv(status_.get());
  if (!msg) {
    r.exit_code = kExitRuntimeError;
    r.error = "the container's supervisor exited before starting it";
    return r;
  }
  if (msg->kind == protocol::Kind::Started) {
    r.ok = true;
    r.pid = static_cast<pid_t>(msg->number);
    return r;
  }
  if (msg->kind != protocol::Kind::StartFailed)
    throw Error("the container's supervisor said \"" + protocol::describe(*msg) + "\" instead of started");
  r.exit_code = msg->number != 0 ? static_cast<int>(msg->number) : kExitRuntimeError;
  r.error = msg->text;
  return r;
}

static sigset_t forwarded_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&mask, s);
  return mask;
}

void SupervisorHandle::hold_signals() {
  sigset_t mask = forwarded_signals();
  for (int s = 1; s < NSIG; ++s) {
    // An ignored signal is dropped, never queued: a shell starts background
    // jobs with SIGINT ignored, and we still want to forward it. Only touch
    // ignored ones: setting SIG_DFL also discards a pending signal whose
    // default is to be ignored (SIGWINCH) when this runs a second time.
    struct sigaction old {};
    if (sigismember(&mask, s) && ::sigaction(s, nullptr, &old) == 0 && old.sa_handler == SIG_IGN)
      std::signal(s, SIG_DFL);
  }
  // Blocked from now on: a ^C that comes while the container is still
  // starting waits in the queue until wait_exited() forwards it.
  sigprocmask(SIG_BLOCK, &mask, nullptr);
}

std::optional<int> SupervisorHandle::wait_exited(pid_t container_pid) {
  hold_signals();
  sigset_t mask = forwarded_signals();
  UniqueFd sigfd(check_sys(::signalfd(-1, &mask, SFD_CLOEXEC), "signalfd"));
  int interrupts = 0;
  for (;;) {
    pollfd p[2] = {{status_.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_sys("poll");
    }
    if (p[1].revents) {
      signalfd_siginfo si;
      if (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        // A window size change is for the supervisor, which owns the pty
        // master; the terminal only signals our (foreground) process group.
        if (sig == SIGWINCH) {
          if (supervisor_ > 0) ::kill(supervisor_, SIGWINCH);
          continue;
        }
        // PID 1 ignores signals it has no handler for; a second Ctrl-C
        // (like Docker's CLI) kills the container.
        if (sig == SIGINT && ++interrupts >= 2) sig = SIGKILL;
        ::kill(container_pid, sig);
      }
    }
    if (p[0].revents) {
      auto msg = protocol::recv(status_.get());
      if (!msg) return std::nullopt;
      if (msg->kind == protocol::Kind::Exited) return static_cast<int>(msg->number);
    }
  }
}

}  // namespace mctr::container
