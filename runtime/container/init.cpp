#include "container/init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <functional>

#include "container/env.h"
#include "container/etc_files.h"
#include "container/from_bundle.h"
#include "container/networks.h"
#include "container/protocol.h"
#include "linux/cgroup_mount.h"
#include "linux/idmapped_rootfs.h"
#include "linux/in_root.h"
#include "linux/loopback.h"
#include "linux/pty.h"
#include "linux/security/security.h"
#include "linux/user.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::container {

static const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> process_env(const Config& cfg) {
  std::vector<std::string> env;
  if (!has_env(cfg.env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
  env.push_back("HOSTNAME=" + cfg.hostname);
  for (const auto& e : cfg.env) env.push_back(e);
  if (cfg.tty && !has_env(cfg.env, "TERM")) env.push_back("TERM=xterm");
  return env;
}

std::vector<std::string> with_home(std::vector<std::string> env, const std::string& home) {
  if (!has_env(env, "HOME")) env.push_back("HOME=" + home);
  return env;
}

std::string find_executable(const std::string& cmd, const std::vector<std::string>& env) {
  auto check = [&](const std::string& path) -> int {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return ENOENT;
    if (S_ISDIR(st.st_mode) || ::access(path.c_str(), X_OK) < 0) return EACCES;
    return 0;
  };
  if (cmd.empty()) throw Error("no command specified", kExitNotFound);
  if (cmd.find('/') != std::string::npos) {
    int err = check(cmd);
    if (err == ENOENT)
      throw Error("exec: \"" + cmd + "\": stat " + cmd + ": no such file or directory", kExitNotFound);
    if (err == EACCES) throw Error("exec: \"" + cmd + "\": permission denied", kExitCannotInvoke);
    return cmd;
  }
  std::string path = kDefaultPath;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  bool denied = false;
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + cmd;
    int err = check(candidate);
    if (err == 0) return candidate;
    if (err == EACCES) denied = true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (denied) throw Error("exec: \"" + cmd + "\": permission denied", kExitCannotInvoke);
  throw Error("exec: \"" + cmd + "\": executable file not found in $PATH", kExitNotFound);
}

// exec's seccomp filter, compiled from the bundle's linux.seccomp (none:
// unconfined, privileged).
static void load_seccomp(const std::vector<sock_filter>& program) {
  if (program.empty()) return;
  explain::step(
      explain::Kind::kNotReplayable, "seccomp(2)",
      "# load the BPF syscall filter of linux.seccomp (" + std::to_string(program.size()) + " instructions)");
  security::load_seccomp_program(program);
}

void apply_security(const user::Identity& id, bool no_new_privs,
                    const std::function<void()>& set_capabilities, const std::function<void()>& load_filter) {
  // Without no_new_privs the kernel only takes a filter from a process that
  // holds CAP_SYS_ADMIN: load it first, while we still do (as runc does).
  if (!no_new_privs) load_filter();
  // Switch user, keeping the permitted capabilities across setuid()
  // (PR_SET_KEEPCAPS), so --cap-drop SETUID still lets us become -u USER;
  // then set the capability sets. A non-root command's execve() then
  // leaves it with none effective (no file capabilities, no ambient set).
  security::keep_capabilities_across_setuid();
  user::switch_to(id);
  set_capabilities();
  if (no_new_privs) {
    explain::step(explain::Kind::kCredentials, "prctl(2)",
                  "setpriv --no-new-privs   # PR_SET_NO_NEW_PRIVS: setuid binaries gain nothing");
    security::set_no_new_privs();
    // Seccomp last: from here on only the allowed syscalls work, and execve is one.
    load_filter();
  }
}

// minictr's capabilities: one set kept (bounding, permitted, effective),
// the inheritable and ambient ones empty.
static void keep_only(const std::vector<std::string>& keep) {
  if (explain::on()) {
    std::string caps;
    for (auto c : keep) {
      for (auto& ch : c) ch = static_cast<char>(std::tolower(ch));
      caps += ",+" + c;
    }
    explain::step(explain::Kind::kCredentials, "prctl+capset(2)",
                  "setpriv --bounding-set=-all" + caps +
                      " --inh-caps=-all --ambient-caps=-all   # PR_CAPBSET_DROP all others, then capset");
  }
  security::drop_capabilities(keep);
}

void apply_process_security(const oci::Process& p, const user::Identity& id,
                            const std::vector<sock_filter>& seccomp) {
  apply_security(
      id, p.no_new_privileges, [&] { keep_only(kept_capabilities(p)); }, [&] { load_seccomp(seccomp); });
}

// A session of our own; with -t its terminal comes after pivot_root (kConsole).
static void setup_stdio(const InitStdio& stdio) {
  check_sys(::setsid(), "setsid");
  if (stdio.terminal) return;
  int fds[3] = {stdio.in, stdio.out, stdio.err};
  for (int i = 0; i < 3; ++i)
    if (fds[i] >= 0 && fds[i] != i) check_sys(::dup2(fds[i], i), "dup2");
}

void enter_working_dir(const std::string& dir) {
  std::string d = dir.empty() ? "/" : dir;
  if (::chdir(d.c_str()) == 0) return;
  // Docker creates a missing WorkingDir. We are in the container's root
  // already; open_in_root also makes the target of a dangling symlink on the
  // way (inside the root), as runc does.
  UniqueFd wd(rootfs::open_in_root("/", d, true, true));
  check_sys(::fchdir(wd.get()), "fchdir", d);
}

// The files the root filesystem is built from, on the host side (we have not
// pivoted yet): the overlay's dirs, /etc/hostname, hosts and resolv.conf
// (for the bridge network the supervisor writes them once it knows our
// address), and the seccomp program (read from the cache of compiled ones).
std::vector<sock_filter> prepare_host_files(const oci::Spec& spec, const rootfs::Spec& fs_spec,
                                            const std::filesystem::path& seccomp_cache) {
  prepare_overlay_dirs(fs_spec);
  write_host_etc_files(spec, fs_spec);
  return seccomp_program(spec, seccomp_cache);
}

void prepare_overlay_dirs(const rootfs::Spec& fs_spec) {
  const auto& dir = fs_spec.container_dir;
  explain::step("mkdir(2)", "mkdir -p " + (dir / "upper").string() + " " + (dir / "work").string() + " " +
                                fs_spec.mount_point.string() + "   # overlay upper, work and mount point");
  // With the overlay made in advance the CLI made them (make_overlay_in_advance).
  if (fs_spec.overlay_fd < 0) rootfs::prepare_dirs(fs_spec);
}

void write_host_etc_files(const oci::Spec& spec, const rootfs::Spec& fs_spec) {
  if (!init_writes_etc_files(spec)) return;
  const auto& dir = fs_spec.container_dir;
  write_etc_files(dir, etc_files_of(spec), "", {});
  for (const char* f : {"hostname", "hosts", "resolv.conf"}) explain::file_written(dir / f);
}

// A new cgroup namespace makes the cgroup we are in our "/". The
// hierarchies where that is the container's own group are read just before
// (after the unshare every path reads "/"): mount_own_cgroups shows them at
// /sys/fs/cgroup once we are in the new root.
rootfs::OwnCgroups unshare_cgroup_namespace(const std::string& leaf) {
  rootfs::OwnCgroups own = rootfs::read_own_cgroups(leaf);
  explain::step(explain::Kind::kUnshareCgroup, "unshare(2)",
                "unshare --cgroup   # now inside our cgroup: it becomes our cgroup root");
  check_sys(::unshare(CLONE_NEWCGROUP), "unshare(CLONE_NEWCGROUP)");
  return own;
}

void set_hostname(const std::string& name) {
  explain::step("sethostname(2)", "hostname " + explain::sh_quote(name));
  check_sys(::sethostname(name.data(), name.size()), "sethostname", name);
}

void exec_command_line(const std::string& executable, const std::vector<std::string>& args,
                       const std::vector<std::string>& env) {
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // Signals the parent ignored or blocked must be default again for the command.
  for (int sig = 1; sig < NSIG; ++sig) std::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  throw Error("exec: \"" + args[0] + "\": " + std::strerror(err),
              err == ENOENT ? kExitNotFound : kExitCannotInvoke);
}

// In the new root, to the bundle's process: working dir, environment,
// user, limits, privileges, then exec.
[[noreturn]] static void exec_command(const oci::Spec& spec, const std::vector<sock_filter>& seccomp) {
  const oci::Process& proc = *spec.process;
  user::Identity id = resolve_identity(spec);
  enter_working_dir(proc.cwd);
  std::vector<std::string> env = with_home(proc.env, id.home);
  if (proc.args.empty()) throw Error("no command specified", kExitRuntimeError);
  std::string exe = find_executable(proc.args[0], env);
  // Only fds 0-2 reach the command: whatever the supervisor (or whoever
  // started it) holds without close-on-exec stays on this side of execve.
  // Marked before seccomp, which a custom profile may make refuse close_range.
  check_sys(::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
  apply_rlimits(proc.rlimits);
  // The filter is the bundle's linux.seccomp, compiled through the cache
  // (seccomp_program) by this init or by the supervisor.
  const bool filter = spec.linux_->seccomp.has_value() && !seccomp.empty();
  apply_security(
      id, proc.no_new_privileges, [&] { keep_only(kept_capabilities(proc)); },
      [&] {
        if (!filter) return;
        explain::step(explain::Kind::kNotReplayable, "seccomp(2)",
                      "# load the BPF syscall filter of linux.seccomp (" + std::to_string(seccomp.size()) +
                          " instructions)");
        security::load_seccomp_program(seccomp);
      });
  // The container dies with its supervisor: nothing would read its output,
  // hold its ports or record its exit. Set after the user switch, which
  // clears it. (Not checked: a custom seccomp profile may refuse prctl.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (explain::on()) {
    std::string cmd = "cd " + explain::sh_quote(proc.cwd) + " && exec env -i";
    for (const auto& e : env) cmd += " " + explain::sh_quote(e);
    for (const auto& a : proc.args) cmd += " " + explain::sh_quote(a);
    explain::step(explain::Kind::kExec, "execve(2)", cmd + "   # as PID 1 of the container");
  }
  exec_command_line(exe, proc.args, env);
}

// No process in the container may ptrace the init or open its /proc files
// (exe, fd/, mem) before its execve, which makes it dumpable again. (With
// the memory-sharing start, the supervisor's too: we share this flag.)
static void make_undumpable() { check_sys(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)"); }

// The supervisor's second thread makes what we need from the host side
// while we mount, and hands it over on `handoff_fd` in this order: NetNs
// with the namespace's fd (unless we use the host's network, or were born
// in one made in advance), Cgroup with the cgroup files to write to (open_join_files), then
// SeccompProgram; HandoffFailed instead when it could not. This receives
// the next one, `what` (with fds when it passes any); anything else means
// the thread failed, and the supervisor reports its error rather than ours.
static std::vector<UniqueFd> receive_from_supervisor(int handoff_fd, protocol::Kind what, const char* name,
                                                     bool with_fds = true) {
  std::vector<UniqueFd> fds;
  auto m = protocol::recv(handoff_fd, &fds);
  if (!m || m->kind != what || (with_fds && fds.empty()))
    throw Error(std::string("the container's ") + name + " could not be made");
  return fds;
}

// Our mount namespace, for the supervisor to hold (see StartedChild): when
// it runs again we have exec'd, and the command may be gone already.
static void send_mount_namespace(int sync_fd) {
  UniqueFd mount_ns(
      check_sys(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), "open", "/proc/self/ns/mnt"));
  protocol::send(sync_fd, {protocol::Kind::MountNs, 0, ""}, {mount_ns.get()});
}

const std::vector<InitStep> kCloneThenGoSteps = {
    // The root filesystem needs neither our cgroup nor our network, so it is
    // built while the supervisor sets those up from the outside.
    InitStep::kPrepareHostFiles,
    InitStep::kMountRootFilesystem,
    InitStep::kMountSys,
    InitStep::kWaitForGo,
    InitStep::kJoinCgroupSelf,
    InitStep::kUnshareCgroupNamespace,
    InitStep::kStdio,
    InitStep::kBindMounts,
    InitStep::kPivotRoot,
    InitStep::kMaskPaths,
    InitStep::kReadOnlyRoot,
    InitStep::kMountOwnCgroups,
    InitStep::kConsole,
    InitStep::kHostname,
    InitStep::kLoopback,
    InitStep::kExec,
};

const std::vector<InitStep> kSharingMemorySteps = {
    // The overlay's dirs and the /etc files are made by the supervisor
    // before the clone; its
    // second thread makes the rest meanwhile, in the order we need it (see
    // make_in_background in child_start.cpp). /sys after the namespace is
    // ours; the cgroup as late as possible; the seccomp program last.
    InitStep::kSendMountNamespace,
    InitStep::kMountRootFilesystem,
    InitStep::kReceiveNetworkNamespace,
    InitStep::kMountSys,
    InitStep::kStdio,
    InitStep::kBindMounts,
    InitStep::kPivotRoot,
    InitStep::kMaskPaths,
    InitStep::kReadOnlyRoot,
    InitStep::kJoinCgroupHandedOver,
    InitStep::kUnshareCgroupNamespace,
    InitStep::kMountOwnCgroups,
    InitStep::kConsole,
    InitStep::kHostname,
    InitStep::kLoopback,
    InitStep::kReceiveSeccompProgram,
    InitStep::kExec,
};

const std::vector<InitStep> kUserNamespaceSteps = {
    // Nothing before the maps: until then our host uid 0 is unmapped in our
    // namespaces. Until kBecomeNamespaceRoot we still act as host uid 0 on
    // host paths (the state root is root's alone): no capability over host
    // files, but their owner's permissions.
    InitStep::kReceiveRootFs,
    InitStep::kMountSys,
    InitStep::kWaitForGo,
    InitStep::kJoinCgroupSelf,
    InitStep::kUnshareCgroupNamespace,
    InitStep::kStdio,
    InitStep::kBindMounts,
    InitStep::kPivotRoot,
    InitStep::kMaskPaths,
    InitStep::kReadOnlyRoot,
    InitStep::kBecomeNamespaceRoot,
    InitStep::kMountOwnCgroups,
    InitStep::kConsole,
    InitStep::kHostname,
    InitStep::kLoopback,
    InitStep::kExec,
};

void wait_for_go(int sync_fd) {
  auto go = protocol::recv(sync_fd);
  if (!go || go->kind != protocol::Kind::Go) throw Error("parent aborted setup");
}

// Root of our user namespace: host uid/gid H. Capabilities stay (they
// belong to this namespace), files made from here on are H's, and the
// cgroup tmpfs we mount next takes only mapped owners.
void become_namespace_root() {
  explain::step(explain::Kind::kNotReplayable, "setresuid(2)",
                "# become root of the user namespace: the host's mapped uid and gid");
  check_sys(::setresgid(0, 0, 0), "setresgid", "the user namespace's root");
  check_sys(::setresuid(0, 0, 0), "setresuid", "the user namespace's root");
}

void run_init_steps(const std::vector<InitStep>& steps, InitSide& side) {
  int code = kExitRuntimeError;
  try {
    make_undumpable();
    for (InitStep step : steps) side.run(step);
    throw Error("init: the step list ended without kExec");
  } catch (const std::exception& e) {
    code = side.failed(e);
  }
  ::_exit(code);
}

namespace {

// --userns: the supervisor has written our uid_map and gid_map and sends the
// tree it built (overlay over idmapped layers, /dev tmpfs); we add what
// belongs to our own namespaces: /proc, and /dev's nodes and submounts.
void receive_root_filesystem(const InitPlan& p, int sync_fd) {
  std::vector<UniqueFd> fds;
  auto m = protocol::recv(sync_fd, &fds);
  if (!m || m->kind != protocol::Kind::RootFs || fds.empty()) throw Error("parent aborted setup");
  rootfs::make_mounts_private();
  rootfs::attach_tree(fds.front().get(), p.fs);
  rootfs::mount_proc(p.fs);
  rootfs::fill_dev(p.fs);
}

// minictr run's init: its supervisor at the other end of link.sync_fd.
class ContainerInit : public InitSide {
 public:
  ContainerInit(const InitPlan& plan, const InitLink& link) : p_(plan), link_(link) {}

  void run(InitStep step) override {
    switch (step) {
      case InitStep::kSendMountNamespace:
        return send_mount_namespace(link_.sync_fd);
      case InitStep::kPrepareHostFiles:
        seccomp_ = prepare_host_files(p_.spec, p_.fs, link_.seccomp_cache);
        return;
      case InitStep::kMountRootFilesystem:
        rootfs::make_mounts_private();
        rootfs::mount_overlay(p_.fs);
        rootfs::mount_proc_dev(p_.fs);
        return;
      case InitStep::kReceiveRootFs:
        return receive_root_filesystem(p_, link_.sync_fd);
      case InitStep::kReceiveNetworkNamespace:
        return receive_network_namespace();
      case InitStep::kReceiveSeccompProgram:
        // The thread wrote it into link_.seccomp (our memory is its) before saying so.
        receive_from_supervisor(link_.handoff_fd, protocol::Kind::SeccompProgram, "seccomp program", false);
        return;
      case InitStep::kMountSys:
        return rootfs::mount_sys(p_.fs);
      case InitStep::kWaitForGo:
        return wait_for_go(link_.sync_fd);
      case InitStep::kJoinCgroupSelf:
        // Single-threaded, so on v1 we can join through `tasks`, which does
        // not wait for an RCU grace period (see join_self). Born in it on v2.
        if (link_.join) link_.join->join_self();
        return;
      case InitStep::kJoinCgroupHandedOver:
        return join_cgroup_handed_over();
      case InitStep::kUnshareCgroupNamespace:
        own_cgroups_ = unshare_cgroup_namespace(cgroup_leaf(p_.spec));
        return;
      case InitStep::kStdio:
        return setup_stdio(p_.stdio);
      case InitStep::kBindMounts:
        // The supervisor has just rewritten /etc/hosts with our address.
        return rootfs::mount_binds(p_.fs);
      case InitStep::kPivotRoot:
        return rootfs::pivot_into(p_.fs.mount_point);
      case InitStep::kMaskPaths:
        // Docker's lists (what from_bundle writes; see check_supported).
        if (masks_paths(p_.spec)) security::mask_paths(false);
        return;
      case InitStep::kReadOnlyRoot:
        if (p_.spec.root->readonly) rootfs::remount_root_readonly();
        return;
      case InitStep::kBecomeNamespaceRoot:
        return become_namespace_root();
      case InitStep::kMountOwnCgroups:
        return rootfs::mount_own_cgroups(own_cgroups_, cgroups_read_only(p_.spec));
      case InitStep::kConsole:
        return make_console();
      case InitStep::kHostname:
        return set_hostname(p_.spec.hostname);
      case InitStep::kLoopback:
        if (has_new_network_namespace(p_.spec)) linux_ns::bring_up_loopback();
        return;
      case InitStep::kExec:
        exec_command(p_.spec, seccomp_.empty() ? link_.seccomp : seccomp_);
      default:
        throw Error("init: step " + std::to_string(static_cast<int>(step)) + " is minictr-runc's");
    }
  }

  // SetupFailed to the supervisor: the exit code and the message.
  int failed(const std::exception& e) noexcept override {
    const auto* error = dynamic_cast<const Error*>(&e);
    const int code = error ? error->exit_code() : kExitRuntimeError;
    try {
      protocol::send(link_.sync_fd, {protocol::Kind::SetupFailed, code, e.what()});
    } catch (...) {
    }
    return code;
  }

 private:
  // -t: sized before the command runs (the supervisor gets the master only
  // once we have exec'd), as runc sizes it from process.consoleSize.
  void make_console() {
    if (!p_.stdio.terminal) return;
    const winsize size{p_.stdio.rows, p_.stdio.cols, 0, 0};
    pty::make_console(
        [this](int master) {
          protocol::send(link_.sync_fd, {protocol::Kind::Console, 0, ""}, {master});
        },
        size.ws_row && size.ws_col ? &size : nullptr, true);
  }

  void receive_network_namespace() {
    if (!p_.fs.new_netns || link_.born_in_netns) return;
    auto netns = receive_from_supervisor(link_.handoff_fd, protocol::Kind::NetNs, "network namespace");
    explain::step(explain::Kind::kNote, "setns(2)", "# join the network namespace the supervisor made");
    check_sys(::setns(netns.front().get(), CLONE_NEWNET), "setns(CLONE_NEWNET)");
  }

  void join_cgroup_handed_over() {
    // Through files opened for us: the host's /sys/fs/cgroup is out of reach now.
    auto files = receive_from_supervisor(link_.handoff_fd, protocol::Kind::Cgroup, "cgroup");
    explain::step(explain::Kind::kJoinCgroup, "write(2)",
                  "for t in /sys/fs/cgroup/*" + p_.spec.linux_->cgroups_path +
                      "/tasks; do echo 0 > $t; done   # through files the supervisor opened");
    cgroup::join_with(files);
  }

  const InitPlan& p_;
  const InitLink& link_;
  // What steps pass on to later ones.
  std::vector<sock_filter> seccomp_;  // kPrepareHostFiles
  rootfs::OwnCgroups own_cgroups_;    // kUnshareCgroupNamespace
};

}  // namespace

void container_init(const std::vector<InitStep>& steps, const InitPlan& plan, const InitLink& link) {
  explain::set_place(explain::Place::kContainer);
  ContainerInit init(plan, link);
  run_init_steps(steps, init);
}

}  // namespace mctr::container
