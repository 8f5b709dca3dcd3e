// The CLI's side of the supervisor: start it, wait for "started", and when
// attached wait for "exited" while forwarding the signals the CLI gets.
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

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

// In the forked child: keep only 0-2 and `keep`, open across the exec.
void keep_only_fds(std::initializer_list<int> keep_fds) {
  std::vector<int> keep;
  for (int k : keep_fds)
    if (k > 2) keep.push_back(k);  // 0-2 stay as they are (the attached CLI's terminal or pipes)
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int k : keep) {
    if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
    from = static_cast<unsigned>(k) + 1;
    ::fcntl(k, F_SETFD, 0);  // not close-on-exec
  }
  ::close_range(from, ~0U, 0);
}

// The forked child: its own session, so the terminal's ^C and hang-up do not
// reach it, then the exec. Only a failed exec returns here: said on the socket.
[[noreturn]] void exec_supervisor(const std::filesystem::path& root, int status_fd, bool attached,
                                  bool make_network_namespace) {
  ::setsid();
  keep_only_fds({status_fd, explain::fd(), explain::records_fd()});
  std::string fd = std::to_string(status_fd), explain_fd = std::to_string(explain::fd()),
              records_fd = std::to_string(explain::records_fd()), root_s = root.string();
  std::string mode = attached ? "attached" : "detached";
  std::string netns = make_network_namespace ? "netns" : "-";
  char* argv[] = {const_cast<char*>(kShimName),
                  root_s.data(),
                  fd.data(),
                  mode.data(),
                  explain_fd.data(),
                  records_fd.data(),
                  netns.data(),
                  nullptr};
  try {
    security::exec_read_only_self(argv);
  } catch (const std::exception& e) {
    protocol::send_if_listening(status_fd, {protocol::Kind::StartFailed, kExitRuntimeError, e.what()});
  }
  ::_exit(kExitRuntimeError);
}

}  // namespace

// The supervisor is a program of its own, as containerd's shim is: this
// binary again, exec'd from a read-only copy of itself (security/self_exe.h).
// The container's init is cloned from it and runs its code until its own
// execve, so a process in the container that reaches the init's
// /proc/PID/exe (or starts "#!/proc/self/exe") finds a file nobody can
// write, never the host's binary (CVE-2019-5736). It is started before the
// container is created, so that its exec runs while the CLI still works.
SupervisorHandle SupervisorHandle::spawn(const std::filesystem::path& root, bool attached,
                                         bool make_network_namespace) {
  int sv[2];
  check_sys(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
  SupervisorHandle h;
  h.status_.reset(sv[0]);
  UniqueFd theirs(sv[1]);
  pid_t sup = check_sys(::fork(), "fork");
  if (sup == 0) exec_supervisor(root, sv[1], attached, make_network_namespace);
  // It lives on when this CLI process exits (re-parented to init or the
  // nearest subreaper), and exits at once if we never send it an id.
  h.supervisor_ = sup;
  return h;
}

void SupervisorHandle::start(const std::string& id) {
  protocol::send(status_.get(), {protocol::Kind::Go, 0, id});
}

SupervisorHandle SupervisorHandle::launch(const std::filesystem::path& root, const std::string& id,
                                          bool attached) {
  SupervisorHandle h = spawn(root, attached);
  h.start(id);
  return h;
}

// The exec'd supervisor: the command line exec_supervisor made, then the
// container's id from the CLI (none: the CLI failed to create it).
[[noreturn]] void supervisor_process_main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "%s: started by minictr, not by hand\n", kShimName);
    ::_exit(kExitRuntimeError);
  }
  const std::filesystem::path root = argv[1];
  const int status_fd = std::atoi(argv[2]);
  const bool attached = std::string_view(argv[3]) == "attached";
  for (int i : {2, 4, 5})
    if (int fd = std::atoi(argv[i]); fd > 2) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  explain::enable(std::atoi(argv[4]));
  explain::enable_records(std::atoi(argv[5]));
  NetworkNamespaceInAdvance netns(std::string_view(argv[6]) == "netns");
  auto go = protocol::recv(status_fd);
  if (!go || go->kind != protocol::Kind::Go) ::_exit(0);
  supervisor_main(root, go->text, status_fd, attached, netns);
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
