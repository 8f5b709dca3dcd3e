#include "container/io_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "util/error.h"
#include "util/explain.h"

namespace mctr::container {

ContainerStdio ContainerStdio::make(bool terminal, bool attached, bool interactive) {
  ContainerStdio s;
  s.devnull.reset(check_sys(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  if (terminal) {
    s.terminal = s.for_init.terminal = true;
    winsize ws;
    if (attached && ::ioctl(0, TIOCGWINSZ, &ws) == 0) {
      s.for_init.rows = ws.ws_row;
      s.for_init.cols = ws.ws_col;
    }
    return s;
  }
  int out[2], err[2];
  check_sys(::pipe2(out, O_CLOEXEC), "pipe2");
  s.out_r.reset(out[0]);
  s.out_w.reset(out[1]);
  check_sys(::pipe2(err, O_CLOEXEC), "pipe2");
  s.err_r.reset(err[0]);
  s.err_w.reset(err[1]);
  s.for_init.in = (attached && interactive) ? 0 : s.devnull.get();
  s.for_init.out = s.out_w.get();
  s.for_init.err = s.err_w.get();
  return s;
}

void ContainerStdio::close_child_ends() {
  out_w.reset();
  err_w.reset();
}

void ContainerStdio::take_master(UniqueFd sent) {
  if (!sent) throw Error("the container's init sent no terminal");
  master = std::move(sent);
}

UniqueFd supervisor_signalfd() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  return UniqueFd(check_sys(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));
}

namespace {

struct IoPump {
  LogWriter& log;
  bool attached;
  int out = -1, err = -1, master = -1;  // master: the pty with -t
  int stdin_src = -1;                   // attached -t: our stdin -> the pty
  int sigfd = -1;
  pid_t pid = 0;
  int status = 0;
  bool exited = false;

  void copy_out(int& fd, const char* stream, int to) {
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {  // EOF, or EIO from a pty whose last slave closed
      fd = -1;
      return;
    }
    log.write(stream, buf, static_cast<size_t>(n));
    if (attached && ::write(to, buf, static_cast<size_t>(n)) < 0) attached = false;
  }

  void copy_in() {
    char buf[4096];
    ssize_t n = ::read(stdin_src, buf, sizeof buf);
    if (n <= 0) {
      stdin_src = -1;
      return;
    }
    if (::write(master, buf, static_cast<size_t>(n)) < 0) stdin_src = -1;
  }

  // The CLI's terminal changed size (the CLI got SIGWINCH and passed it on):
  // give the pty the same size; the kernel then sends SIGWINCH to the
  // container's foreground process group itself.
  void resize_pty() {
    winsize ws;
    if (master < 0 || !attached || ::ioctl(0, TIOCGWINSZ, &ws) != 0) return;
    ::ioctl(master, TIOCSWINSZ, &ws);
  }

  void on_signal() {
    signalfd_siginfo si;
    while (::read(sigfd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGCHLD) {
        int st;
        if (!exited && ::waitpid(pid, &st, WNOHANG) == pid) {
          status = st;
          exited = true;
        }
      } else if (si.ssi_signo == SIGWINCH) {
        resize_pty();
      } else {
        ::kill(pid, static_cast<int>(si.ssi_signo));  // forward SIGTERM/SIGINT/SIGHUP
      }
    }
  }

  void run() {
    for (;;) {
      bool outputs_open = out >= 0 || err >= 0 || master >= 0;
      if (exited && !outputs_open) return;
      pollfd p[5];
      int n = 0;
      auto add = [&](int fd) {
        if (fd >= 0) p[n++] = {fd, POLLIN, 0};
      };
      add(sigfd), add(out), add(err), add(master), add(stdin_src);
      // Once the init is gone, a process that escaped the PID namespace's
      // kill could hold the pipe open forever: stop after one second.
      int r = ::poll(p, static_cast<nfds_t>(n), exited ? 1000 : -1);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0 && exited) return;
      for (int i = 0; i < n; ++i) {
        if (!p[i].revents) continue;
        if (p[i].fd == sigfd)
          on_signal();
        else if (p[i].fd == out)
          copy_out(out, "stdout", 1);
        else if (p[i].fd == err)
          copy_out(err, "stderr", 2);
        else if (p[i].fd == master)
          copy_out(master, "stdout", 1);
        else if (p[i].fd == stdin_src)
          copy_in();
      }
    }
  }
};

}  // namespace

int pump_until_exit(LogWriter& log, ContainerStdio& stdio, bool attached, bool interactive, int sigfd,
                    pid_t pid) {
  IoPump pump{log, attached};
  pump.sigfd = sigfd;
  pump.pid = pid;
  if (stdio.terminal) {
    pump.master = stdio.master.get();
    if (attached && interactive) pump.stdin_src = 0;
  } else {
    pump.out = stdio.out_r.get();
    pump.err = stdio.err_r.get();
  }
  pump.run();
  explain::step(explain::Kind::kNote, "waitpid(2)",
                "wait " + std::to_string(pid) + "   # reap the container's init, record its exit code");
  if (!pump.exited) ::waitpid(pid, &pump.status, 0);
  return pump.status;
}

}  // namespace mctr::container
