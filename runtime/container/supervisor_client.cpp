// The CLI's side of the supervisor: fork it, wait for "started", and when
// attached wait for "exited" while forwarding the signals the CLI gets.
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <utility>

#include "container/protocol.h"
#include "container/supervisor.h"
#include "container/supervisor_process.h"
#include "util/error.h"
#include "util/explain.h"

namespace mctr::container {

SupervisorHandle SupervisorHandle::launch(const std::filesystem::path& root, const std::string& id,
                                          bool attached, const Config* cfg) {
  int sv[2];
  check_sys(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
  SupervisorHandle h;
  h.status_.reset(sv[0]);
  UniqueFd theirs(sv[1]);
  // The supervisor gets its own session (setsid), so the terminal's ^C and
  // hang-up do not reach it, and lives on when this CLI process exits (it is
  // then re-parented to init or the nearest subreaper).
  pid_t sup = check_sys(::fork(), "fork");
  h.supervisor_ = sup;
  if (sup == 0) {
    {
      ::setsid();
      ::close(sv[0]);
      // Keep only 0-2, the status socket and the --explain output and records.
      int keep[3] = {sv[1], explain::fd(), explain::records_fd()};
      for (int& k : keep)
        if (k < 3) k = -1;  // stays open as 0-2 when attached
      std::sort(std::begin(keep), std::end(keep));
      unsigned from = 3;
      for (int k : keep) {
        if (k < 0) continue;
        if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
        from = static_cast<unsigned>(k) + 1;
      }
      ::close_range(from, ~0U, 0);
      int flags = ::fcntl(sv[1], F_GETFD);
      ::fcntl(sv[1], F_SETFD, flags | FD_CLOEXEC);
      supervisor_main(root, id, sv[1], attached, cfg);
    }
  }
  return h;
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
