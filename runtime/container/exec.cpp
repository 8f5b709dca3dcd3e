#include "container/exec.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "container/bundle.h"
#include "container/from_bundle.h"
#include "container/init.h"
#include "linux/cgroup/manager.h"
#include "linux/namespaces.h"
#include "linux/proc.h"
#include "linux/pty.h"
#include "linux/setns.h"
#include "linux/user.h"
#include "util/error.h"
#include "util/paths.h"

namespace mctr::container {

// How `minictr exec` runs a command in a container (as runc and conmon do):
//
//   minictr exec (host)          the relay: our terminal <-> pipes or pty master
//    └─ setup process            host PID namespace, invisible to the container:
//        │                       non-dumpable, joins cgroup + namespaces, opens
//        │                       the pty in the container's devpts, becomes the
//        │                       user, drops capabilities, loads seccomp
//        └─ the command          forked only then, into the container's PID
//                                namespace: its own session, only fds 0-2
//
// The command never holds a file of ours: not our terminal (a container
// process could push keystrokes into it with TIOCSTI, which the host shell
// then runs), not an fd we inherited without close-on-exec.

namespace {

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// The signals `minictr exec` passes on to the command.
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// The ends the setup process and the command use; the relay keeps the others.
struct ExecStdio {
  UniqueFd in_r, in_w;    // -i without -t: our stdin -> the command
  UniqueFd out_r, out_w;  // without -t: the command's stdout
  UniqueFd err_r, err_w;  // the command's stderr without -t; always the setup's errors
  std::optional<linux_ns::SyncChannel> pty_handoff;  // -t: the pty master comes back here
};

void make_pipe(UniqueFd& r, UniqueFd& w) {
  int p[2];
  check_sys(::pipe2(p, O_CLOEXEC), "pipe2");
  r.reset(p[0]);
  w.reset(p[1]);
}

ExecStdio make_stdio(const ExecOptions& o) {
  ExecStdio s;
  if (o.detach) return s;
  make_pipe(s.err_r, s.err_w);
  if (o.tty) {
    s.pty_handoff.emplace();
    return s;
  }
  make_pipe(s.out_r, s.out_w);
  if (o.interactive) make_pipe(s.in_r, s.in_w);
  return s;
}

// A new pty in the container's own devpts instance (we are in its mount
// namespace). Its slave then shows as /dev/pts/N inside, so `tty` works; the
// host's /dev/pts is never used. The slave is opened from the master
// (TIOCGPTPEER), not by a path the container could swap, and given to the
// user the command runs as.
std::pair<UniqueFd, UniqueFd> open_container_pty(const user::Identity& id) {
  // /dev/pts/ptmx itself, not the /dev/ptmx link the container may have
  // replaced; and checked to be a devpts (a mount point it cannot move).
  const char* ptmx = "/dev/pts/ptmx";
  UniqueFd master(check_sys(::open(ptmx, O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC), "open", ptmx));
  struct statfs sfs;
  check_sys(::fstatfs(master.get(), &sfs), "fstatfs", ptmx);
  if (sfs.f_type != DEVPTS_SUPER_MAGIC) throw Error(std::string(ptmx) + ": not on the container's devpts");
  check_sys(::unlockpt(master.get()), "unlockpt");
  UniqueFd slave(
      check_sys(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), "ioctl(TIOCGPTPEER)"));
  check_sys(::fchown(slave.get(), id.uid, static_cast<gid_t>(-1)), "fchown", "pty slave");
  return {std::move(master), std::move(slave)};
}

pid_t g_command = 0;  // for the setup process's signal handler

void forward_to_command(int sig) {
  if (g_command > 0) ::kill(g_command, sig);
}

// The command, forked by the setup process: already the user, with its
// capabilities and seccomp filter. Its own session; fds 0-2 only.
[[noreturn]] void exec_command(const std::vector<std::string>& cmd, const std::string& exe,
                               const std::vector<std::string>& env, int pty_slave) {
  try {
    check_sys(::setsid(), "setsid");
    if (pty_slave >= 0) {
      check_sys(::ioctl(pty_slave, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)");
      for (int i = 0; i < 3; ++i) check_sys(::dup2(pty_slave, i), "dup2");
    }
    // Everything above 2 was marked close-on-exec before seccomp; close it
    // now as well, where the filter allows it.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    for (int sig : kForwarded) std::signal(sig, SIG_DFL);
    std::vector<char*> argv, envp;
    for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(exe.c_str(), argv.data(), envp.data());
    throw Error("exec: \"" + cmd[0] + "\": " + std::strerror(errno),
                errno == ENOENT ? kExitNotFound : kExitCannotInvoke);
  } catch (const Error& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    ::_exit(e.exit_code());
  }
}

// The setup process's standard streams: the relay's pipes (or /dev/null),
// never the caller's terminal or any other fd of the caller's.
void take_stdio(const ExecOptions& o, ExecStdio& s) {
  UniqueFd null(check_sys(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  int in = s.in_r ? s.in_r.get() : null.get();
  int out = s.out_w ? s.out_w.get() : null.get();
  int err = s.err_w ? s.err_w.get() : null.get();
  if (o.detach) in = out = err = null.get();
  int fds[3] = {in, out, err};
  for (int i = 0; i < 3; ++i) check_sys(::dup2(fds[i], i), "dup2");
  // The relay's ends: a copy of the stdin pipe's write end kept here would
  // keep the command from ever seeing EOF.
  for (UniqueFd* fd : {&s.in_r, &s.in_w, &s.out_r, &s.out_w, &s.err_r, &s.err_w}) fd->reset();
}

struct SetupArgs {
  const oci::Spec& spec;  // the container's bundle
  const oci::Process& p;  // exec's process (exec_process)
  const ExecOptions& o;
  const linux_ns::NamespaceFds& ns;
  cgroup::Manager& cg;
  const std::vector<sock_filter>& seccomp;
};

// The setup process (see the picture above). Returns the exit code.
int setup_and_run(const SetupArgs& a, ExecStdio& stdio) {
  // No process in the container may ptrace us or open our /proc files
  // (/proc/PID/exe, fd/, mem) until the command's execve.
  check_sys(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)");
  take_stdio(a.o, stdio);
  // Whatever else we inherited from the caller stays on this side of execve.
  check_sys(::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
  a.cg.join_self();  // a forked child is single-threaded
  linux_ns::enter_namespaces(a.ns);

  // The user is looked up in the container's /etc/passwd: after setns.
  const user::Identity id = exec_identity(a.spec, a.o.user);
  check_sys(::chdir(a.p.cwd.c_str()), "chdir", a.p.cwd);
  UniqueFd pty_slave;
  if (a.o.tty && !a.o.detach) {
    auto [master, slave] = open_container_pty(id);
    linux_ns::SyncChannel::send_with_fd(stdio.pty_handoff->child_fd(), "pty", master.get());
    pty_slave = std::move(slave);
  }
  stdio.pty_handoff.reset();
  const auto env = with_home(a.p.env, id.home);
  const std::string exe = find_executable(a.p.args[0], env);
  // User, capabilities, no_new_privs, seccomp: all before the command
  // exists, so no container process ever sees it unfiltered.
  apply_process_security(a.p, id, a.seccomp);

  struct sigaction forward {};
  forward.sa_handler = forward_to_command;
  for (int sig : kForwarded) ::sigaction(sig, &forward, nullptr);
  pid_t command = check_sys(::fork(), "fork");  // into the container's PID namespace
  if (command == 0) exec_command(a.p.args, exe, env, pty_slave.get());
  g_command = command;
  pty_slave.reset();         // the pty's master sees EIO once the command's copies close
  if (a.o.detach) return 0;  // the container's init adopts it
  int status = 0;
  while (::waitpid(command, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_of(status);
}

// Copy from one fd to another until it would block; false at EOF or error.
bool pump(int from, int to) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN;
    if (n == 0) return false;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return false;
      off += w;
    }
  }
}

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// The host side: our stdin to the command, its output (pipes, or the pty
// master with -t) and the setup's errors to ours, signals passed on, until
// the setup process exits and its output is drained. Our stdin goes through
// a buffer written without blocking: a command busy writing its output while
// we block writing its input would wait for us forever.
class Relay {
 public:
  struct Fds {
    int output = -1;           // the stdout pipe or the pty master
    int errors = -1;           // the stderr pipe
    int input = -1;            // the stdin pipe or the pty master (-1: no input)
    bool close_input = false;  // at EOF of our stdin (a pipe: the command sees EOF)
    bool tty = false;
  };
  Relay(pid_t setup, Fds fds) : setup_(setup), f_(fds) {
    pidfd_.reset(check_sys(static_cast<int>(::syscall(SYS_pidfd_open, setup, 0)), "pidfd_open"));
    sigset_t sigs;
    sigemptyset(&sigs);
    for (int sig : kForwarded) sigaddset(&sigs, sig);
    sigaddset(&sigs, SIGWINCH);
    sigprocmask(SIG_BLOCK, &sigs, nullptr);
    signals_.reset(check_sys(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));
    for (int fd : {f_.output, f_.errors, f_.input})
      if (fd >= 0) set_nonblocking(fd);
    if (f_.tty) resize();
  }

  void run() {
    std::optional<pty::RawMode> raw;
    if (f_.tty) raw.emplace(0);
    bool out_open = f_.output >= 0, err_open = f_.errors >= 0;
    for (;;) {
      const bool want_stdin = f_.input >= 0 && !stdin_eof_ && pending_.empty();
      const bool want_input = f_.input >= 0 && !pending_.empty();
      pollfd p[6] = {{pidfd_.get(), POLLIN, 0},
                     {signals_.get(), POLLIN, 0},
                     {out_open ? f_.output : -1, POLLIN, 0},
                     {err_open ? f_.errors : -1, POLLIN, 0},
                     {want_stdin ? 0 : -1, POLLIN, 0},
                     {want_input ? f_.input : -1, POLLOUT, 0}};
      if (::poll(p, 6, -1) < 0 && errno != EINTR) throw_sys("poll");
      if (p[1].revents) on_signals();
      if (p[2].revents) out_open = pump(f_.output, 1);
      if (p[3].revents) err_open = pump(f_.errors, 2);
      if (p[4].revents) read_stdin();
      if (p[5].revents) write_input();
      if (p[0].revents) break;  // the setup process has exited
    }
    // What the command wrote before it exited (anything a background child
    // of it writes later is not waited for).
    if (out_open) pump(f_.output, 1);
    if (err_open) pump(f_.errors, 2);
  }

 private:
  void read_stdin() {
    char buf[16384];
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      stdin_eof_ = true;
      if (f_.close_input) ::close(std::exchange(f_.input, -1));
      return;
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
  void write_input() {
    ssize_t w = ::write(f_.input, pending_.data(), pending_.size());
    if (w > 0) pending_.erase(0, static_cast<size_t>(w));
    if (w < 0 && errno != EAGAIN && errno != EINTR) pending_.clear();  // the command closed its stdin
  }
  void resize() {
    winsize ws;
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(f_.output, TIOCSWINSZ, &ws);
  }
  void on_signals() {
    signalfd_siginfo si;
    while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGWINCH) {
        if (f_.tty) resize();  // the kernel tells the command (SIGWINCH to its foreground group)
      } else {
        ::kill(setup_, static_cast<int>(si.ssi_signo));  // it passes it on to the command
      }
    }
  }

  pid_t setup_;
  Fds f_;
  UniqueFd pidfd_, signals_;
  std::string pending_;
  bool stdin_eof_ = false;
};

}  // namespace

int exec_in_container(const Store& store, const std::string& id, const ExecOptions& o) {
  if (o.cmd.empty()) throw Error("exec: no command given");
  State s = observed_state(store, id);
  if (s.status != Status::kRunning || !linux_proc::alive(s.pid, s.pid_start))
    throw Error("container " + id.substr(0, 12) + " is not running", 1);
  // A process joining a frozen cgroup is frozen too: it would hang.
  if (s.paused)
    throw Error("container " + id.substr(0, 12) + " is paused, unpause the container before exec", 1);
  // Everything but the user's passwd entry comes from the bundle, read here
  // on the host: its process with exec's flags, and the seccomp program of
  // its linux.seccomp, as the init's was (none with exec --privileged).
  const oci::Spec spec = read_bundle(store.dir(id));
  const oci::Process process = exec_process(spec, o);
  auto ns = linux_ns::open_namespaces(s.pid);
  auto cg = cgroup::make_manager(id);
  const auto seccomp = o.privileged ? std::vector<sock_filter>{}
                                    : seccomp_program(spec, StorePaths{store.root()}.seccomp_cache());

  ExecStdio stdio = make_stdio(o);
  pid_t setup = check_sys(::fork(), "fork");
  if (setup == 0) {
    if (stdio.pty_handoff) stdio.pty_handoff->become_child();
    try {
      ::_exit(setup_and_run({spec, process, o, ns, *cg, seccomp}, stdio));
    } catch (const Error& e) {
      std::fprintf(stderr, "minictr: error: %s\n", e.what());
      ::_exit(e.exit_code());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "minictr: error: %s\n", e.what());
      ::_exit(kExitRuntimeError);
    }
  }
  stdio.in_r.reset();
  stdio.out_w.reset();
  stdio.err_w.reset();
  if (!o.detach) {
    Relay::Fds fds;
    fds.errors = stdio.err_r.get();
    UniqueFd master;
    if (o.tty) {
      stdio.pty_handoff->become_parent();
      std::vector<UniqueFd> passed;
      // The master, or nothing when the setup failed (its error is on the stderr pipe).
      if (linux_ns::SyncChannel::recv_with_fds(stdio.pty_handoff->parent_fd(), passed) == "pty" &&
          !passed.empty())
        master = std::move(passed.front());
      fds.output = master.get();
      fds.tty = bool(master);
      if (o.interactive) fds.input = master.get();
    } else {
      fds.output = stdio.out_r.get();
      if (o.interactive) {
        fds.input = stdio.in_w.release();  // the relay closes it at EOF
        fds.close_input = true;
      }
    }
    Relay(setup, fds).run();
  }
  int status = 0;
  while (::waitpid(setup, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_of(status);
}

}  // namespace mctr::container
