#include "container/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>

#include "container/init.h"
#include "linux/cgroup/manager.h"
#include "linux/proc.h"
#include "linux/pty.h"
#include "linux/setns.h"
#include "linux/user.h"
#include "util/error.h"

namespace mctr::container {

namespace {

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// In the forked process inside the container: working dir, env, security, exec.
[[noreturn]] void exec_process(Config cfg, const ExecOptions& o, int tty_slave) {
  try {
    if (tty_slave >= 0) {
      check_sys(::setsid(), "setsid");
      check_sys(::ioctl(tty_slave, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)");
      for (int i = 0; i < 3; ++i) check_sys(::dup2(tty_slave, i), "dup2");
    } else if (!o.interactive || o.detach) {
      int null = check_sys(::open("/dev/null", O_RDONLY), "open", "/dev/null");
      ::dup2(null, 0);
      ::close(null);
    }
    if (o.detach) {
      ::setsid();
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    std::string user = o.user.empty() ? cfg.user : o.user;
    user::Identity id = user::resolve(user);
    std::string wd = o.workdir.empty() ? cfg.working_dir : o.workdir;
    check_sys(::chdir(wd.c_str()), "chdir", wd);
    for (const auto& e : o.env) cfg.env.push_back(e);
    cfg.tty = o.tty;
    auto env = container_env(cfg, id.home);
    std::string exe = find_executable(o.cmd[0], env);
    if (o.privileged) cfg.security.privileged = true;
    apply_process_security(cfg, user);
    std::vector<char*> argv, envp;
    for (const auto& a : o.cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(exe.c_str(), argv.data(), envp.data());
    throw Error("exec: \"" + o.cmd[0] + "\": " + std::strerror(errno),
                errno == ENOENT ? kExitNotFound : kExitCannotInvoke);
  } catch (const Error& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    ::_exit(e.exit_code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    ::_exit(kExitRuntimeError);
  }
}

// Copy between our terminal and the pty master until the process is done.
// The master reads EIO once every slave fd is closed: the process is done.
// SIGWINCH (our terminal was resized) gives the pty the new size; the
// kernel passes the signal on to the process in the container.
void relay_tty(int master) {
  pty::RawMode raw(0);
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  sigprocmask(SIG_BLOCK, &winch, nullptr);
  UniqueFd winch_fd(check_sys(::signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));
  bool stdin_open = true;
  for (;;) {
    pollfd p[3] = {{master, POLLIN, 0}, {winch_fd.get(), POLLIN, 0}, {0, POLLIN, 0}};
    int r = ::poll(p, stdin_open ? 3 : 2, 200);
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && p[1].revents) {
      signalfd_siginfo si;
      while (::read(winch_fd.get(), &si, sizeof si) == sizeof si) {
      }
      winsize ws;
      if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
    }
    char buf[4096];
    if (r > 0 && p[0].revents) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      if (::write(1, buf, static_cast<size_t>(n)) < 0) break;
    }
    if (r > 0 && stdin_open && p[2].revents) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0)
        stdin_open = false;
      else if (::write(master, buf, static_cast<size_t>(n)) < 0)
        break;
    }
  }
}

}  // namespace

int exec_in_container(const Store& store, const std::string& id, const ExecOptions& o) {
  if (o.cmd.empty()) throw Error("exec: no command given");
  State s = observed_state(store, id);
  if (s.status != "running" || !linux_proc::alive(s.pid, s.pid_start))
    throw Error("container " + id.substr(0, 12) + " is not running", 1);
  Config cfg = store.config(id);
  auto ns = linux_ns::open_namespaces(s.pid);
  auto cg = cgroup::make_manager(id);

  std::optional<pty::Pty> tty;
  UniqueFd slave;
  if (o.tty) {
    tty = pty::open_pty(0);
    // Open the slave now: after setns(mnt) the path would name the
    // container's /dev/pts, a different devpts instance.
    slave.reset(
        check_sys(::open(tty->slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC), "open", tty->slave_path));
  }

  pid_t child = check_sys(::fork(), "fork");
  if (child == 0) {
    try {
      cg->join_self();  // a forked child is single-threaded
      linux_ns::enter_namespaces(ns);
      // setns(CLONE_NEWPID) only moves our future children: fork once more.
      pid_t inner = check_sys(::fork(), "fork");
      if (inner == 0) {
        int fd = slave ? ::dup(slave.get()) : -1;  // dup: drop CLOEXEC
        exec_process(cfg, o, fd);
      }
      if (o.detach) ::_exit(0);
      int status = 0;
      while (::waitpid(inner, &status, 0) < 0 && errno == EINTR) {
      }
      ::_exit(exit_code_of(status));
    } catch (const Error& e) {
      std::fprintf(stderr, "minictr: error: %s\n", e.what());
      ::_exit(kExitRuntimeError);
    }
  }
  slave.reset();
  // Forward Ctrl-C etc. to our child, which relays nothing: the process in
  // the container has its own session; signals reach it through the pty.
  std::signal(SIGINT, SIG_IGN);
  if (tty) relay_tty(tty->master.get());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_of(status);
}

}  // namespace mctr::container
