#include "runc/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "container/protocol.h"
#include "linux/cgroup/manager.h"
#include "linux/namespaces.h"
#include "linux/setns.h"
#include "runc/console.h"
#include "runc/create.h"
#include "runc/process.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

namespace protocol = container::protocol;

namespace {

uint32_t parse_id(const std::string& s, const char* what) {
  try {
    size_t used = 0;
    unsigned long v = std::stoul(s, &used);
    if (used == s.size() && v <= 0xfffffffeUL) return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
  }
  throw Error(std::string("invalid ") + what + " \"" + s + "\": want a number");
}

// A container without a mount namespace shares the host's: joining its
// namespaces leaves us at the host's root, so we take its init's root
// (/proc/PID/root, its chroot) instead. -1 when it has a namespace of its own.
UniqueFd open_root_without_mount_ns(const ContainerState& s) {
  if (s.spec.linux_ && s.spec.linux_->find_namespace("mount")) return UniqueFd();
  const std::string root = "/proc/" + std::to_string(s.init_pid) + "/root";
  return UniqueFd(check_sys(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", root));
}

// In the child, after fork: the remaining namespaces (the mount one last),
// the console, the process.
[[noreturn]] void exec_child(int sync_fd, linux_ns::NamespaceFds& ns, int root_fd, int console_fd,
                             const oci::Process& p, const ContainerState& s) {
  try {
    auto go = protocol::recv(sync_fd);
    if (!go || go->kind != protocol::Kind::Go) throw Error("exec: runtime went away");
    linux_ns::enter_namespaces(ns);
    ns.fds.clear();
    if (root_fd >= 0) {
      check_sys(::fchdir(root_fd), "fchdir", "the init's root");
      check_sys(::chroot("."), "chroot", "the init's root");
      check_sys(::chdir("/"), "chdir", "/");
      ::close(root_fd);
    }
    check_sys(::setsid(), "setsid");
    if (p.terminal) setup_console(console_fd, p, false);
    if (console_fd >= 0) ::close(console_fd);
    PreparedProcess prepared = prepare_process(p, s.spec.linux_->seccomp);
    apply_limits(p);
    become_user_and_exec(prepared);
  } catch (const Error& e) {
    protocol::send(sync_fd, {protocol::Kind::SetupFailed, e.exit_code(), e.what()});
    ::_exit(e.exit_code());
  } catch (const std::exception& e) {
    protocol::send(sync_fd, {protocol::Kind::SetupFailed, 1, e.what()});
    ::_exit(1);
  }
}

}  // namespace

oci::Process exec_process(const ContainerState& s, const ExecOptions& o) {
  if (!o.process_file.empty()) {
    std::string text = o.process_file == "-" ? std::string() : fs::read_file(o.process_file);
    if (o.process_file == "-") {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(0, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    }
    try {
      return oci::parse_process(nlohmann::json::parse(text), o.process_file);
    } catch (const nlohmann::json::exception& e) {
      throw Error(o.process_file + ": " + e.what());
    }
  }
  if (o.args.empty()) throw Error("exec: no command given (args or --process)");
  oci::Process p = *s.spec.process;
  p.args = o.args;
  p.terminal = o.tty;
  p.console_size.reset();
  for (const auto& e : o.env) p.env.push_back(e);
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    p.user.uid = parse_id(o.user.substr(0, colon), "user");
    p.user.gid = colon == std::string::npos ? 0 : parse_id(o.user.substr(colon + 1), "group");
    p.user.additional_gids.clear();
  }
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities = oci::Capabilities{};
    for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
      for (const auto& c : o.caps) set->push_back(c);
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  return p;
}

int exec_in_container(const Store& store, const ExecOptions& o) {
  ContainerState s = store.load(o.id);
  const Status now = current_status(store, s);
  if (now == Status::kStopped) throw Error("cannot exec in a stopped container");
  if (now == Status::kPaused) throw Error("cannot exec in a paused container");
  oci::Process p = exec_process(s, o);
  if (p.terminal && o.console_socket.empty() && o.detach)
    throw Error("cannot allocate tty if runc will detach without setting console socket");
  UniqueFd console;
  if (p.terminal && !o.console_socket.empty()) console = connect_console_socket(o.console_socket);
  if (p.terminal && !console) throw Error("exec --tty without --console-socket is not supported by minictr");

  linux_ns::NamespaceFds ns = linux_ns::open_namespaces(s.init_pid);
  UniqueFd root = open_root_without_mount_ns(s);
  // The PID namespace applies to our children only: join it here, the rest in the child.
  for (auto it = ns.fds.begin(); it != ns.fds.end(); ++it) {
    if (it->first != CLONE_NEWPID) continue;
    check_sys(::setns(it->second.get(), CLONE_NEWPID), "setns", "pid namespace");
    ns.fds.erase(it);
    break;
  }
  // Fds the caller passes on (--preserve-fds N: 3..3+N-1) stay open across exec.
  for (int fd = 3; fd < 3 + o.preserve_fds; ++fd) ::fcntl(fd, F_SETFD, 0);

  linux_ns::SyncChannel sync;
  pid_t pid = check_sys(::fork(), "fork");
  if (pid == 0) {
    sync.become_child();
    exec_child(sync.child_fd(), ns, root.get(), console.get(), p, s);
  }
  sync.become_parent();
  ns.fds.clear();
  root.reset();
  console.reset();
  if (!s.cgroup_path.empty()) {
    auto cg = cgroup::make_manager_at({s.cgroup_path});
    if (cg->exists()) cg->add_pid(pid);
  }
  protocol::send(sync.parent_fd(), {protocol::Kind::Go, 0, ""});
  // The child's end closes at execve (CLOEXEC): silence means it runs.
  if (auto m = protocol::recv(sync.parent_fd()); m && m->kind == protocol::Kind::SetupFailed) {
    ::waitpid(pid, nullptr, 0);
    throw Error(m->text, m->number > 0 ? static_cast<int>(m->number) : 1);
  }
  write_pid_file(o.pid_file, pid);
  if (o.detach) return 0;
  // In the foreground: our signals go to the process, its status is ours.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace mctr::runc
