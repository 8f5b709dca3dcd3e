#include "container/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <utility>

#include "container/bundle.h"
#include "container/etc_files.h"
#include "container/events.h"
#include "container/exit_record.h"
#include "container/from_bundle.h"
#include "container/health.h"
#include "container/init.h"
#include "container/logfile.h"
#include "container/network_connect.h"
#include "container/network_container.h"
#include "container/network_dns.h"
#include "container/networks.h"
#include "container/protocol.h"
#include "container/restart.h"
#include "container/state.h"
#include "linux/cgroup/detect.h"
#include "linux/cgroup/manager.h"
#include "linux/namespaces.h"
#include "linux/net/network.h"
#include "linux/proc.h"
#include "linux/pty.h"
#include "linux/rootfs.h"
#include "linux/security/devices.h"
#include "linux/security/security.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"
#include "util/parallel.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::container {

namespace {

// To the CLI, which may have left on purpose (a detached run returns once
// the container started): a message nobody reads is dropped.
void tell_cli(int status_fd, protocol::Kind kind, int64_t number, const std::string& text = "") {
  protocol::send_if_listening(status_fd, {kind, number, text});
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

void update_state(const Store& store, const std::string& id, const std::function<void(State&)>& change) {
  auto lock = store.lock(id);
  State s = store.state(id);
  change(s);
  store.save_state(id, s);
}

// The container is no longer running: its exit code, OOM kill and error.
// With `restarts`, its policy may have it restarted: then it stays
// "running" with `restarting` set (Docker's Running + Restarting), decided
// under the lock a stop or kill takes to set stop_requested. Returns the
// delay before that restart.
std::optional<std::chrono::milliseconds> record_exit(const Store& store, const std::string& id, int code,
                                                     bool oom_killed, const std::string& error,
                                                     RestartManager* restarts = nullptr,
                                                     std::chrono::milliseconds ran_for = {}) {
  std::optional<std::chrono::milliseconds> restart_in;
  update_state(store, id, [&](State& s) {
    // The policy as it is now: `update --restart` may have changed it.
    if (restarts)
      restart_in = restarts->after_exit(store.config(id).restart, code, s.stop_requested, ran_for);
    s.status = restart_in ? "running" : "exited";
    s.restarting = restart_in.has_value();
    if (restart_in) s.restart_count = restarts->restart_count();
    if (s.health) s.health->status = "unhealthy";  // no process left to be healthy
    s.exit_code = code;
    s.oom_killed = oom_killed;
    s.error = error;
    s.pid = 0;
    s.finished_at = now_rfc3339();
    s.network.reset();
  });
  return restart_in;
}

struct Pipes {
  UniqueFd out_r, out_w, err_r, err_w;
};

Pipes make_pipes() {
  int p1[2], p2[2];
  check_sys(::pipe2(p1, O_CLOEXEC), "pipe2");
  check_sys(::pipe2(p2, O_CLOEXEC), "pipe2");
  return {UniqueFd(p1[0]), UniqueFd(p1[1]), UniqueFd(p2[0]), UniqueFd(p2[1])};
}

// Copy the container's output into the log (and to our stdout/stderr when
// attached) until the init has exited and its output is closed.
struct IoLoop {
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
    int deadline_ms = -1;
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
      int r = ::poll(p, static_cast<nfds_t>(n), exited ? 1000 : deadline_ms);
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

// Which device nodes the container may mknod and open: the bundle's
// linux.resources.devices (Docker's list: null, zero, random, tty, pts, ...),
// enforced by the cgroup. Allowing all (--privileged) needs no rule.
void apply_device_allow_list(const cgroup::Manager& cg, const std::vector<security::DeviceRule>& rules) {
  for (const auto& r : rules)
    if (r.type == 'a' && r.major == security::kAnyNumber && r.minor == security::kAnyNumber &&
        r.access == "rwm")
      return;
  auto dir = cg.devices_dir();
  if (dir.empty()) return;  // v1 host without the devices controller
  if (cg.version() == "v1") {
    explain::step("write(2)", "echo a > " + (dir / "devices.deny").string() + "; echo 'c 1:3 rwm' > " +
                                  (dir / "devices.allow").string() + " ...   # device allow-list");
    security::apply_devices_v1(dir, rules);
  } else {
    explain::step("bpf(2)", "# BPF_PROG_LOAD a cgroup device filter, BPF_PROG_ATTACH it to " + dir.string());
    security::apply_devices_v2(dir, rules);
  }
}

// On the supervisor's second thread, for a child that shares our memory:
// its network namespace, then its cgroup, each handed over on `handoff` as
// soon as it is made (NetNs + fd, Cgroup + the files to join it with),
// or HandoffFailed (the child gives up; our caller reports the error).
void make_netns_and_cgroup(const linux_ns::SyncChannel& handoff, bool new_netns,
                           const std::function<void()>& make_cgroup,
                           const std::unique_ptr<cgroup::Manager>& cg) {
  bool handed_over = false;
  ScopeGuard tell_failure([&] {
    if (!handed_over) protocol::send(handoff.parent_fd(), {protocol::Kind::HandoffFailed, 0, ""});
  });
  if (new_netns) {
    UniqueFd netns = linux_ns::new_network_namespace();
    protocol::send(handoff.parent_fd(), {protocol::Kind::NetNs, 0, ""}, {netns.get()});
  }
  make_cgroup();  // also makes `cg`
  std::vector<UniqueFd> join = cg->open_join_files();
  std::vector<int> fds;
  for (const auto& f : join) fds.push_back(f.get());
  protocol::send(handoff.parent_fd(), {protocol::Kind::Cgroup, 0, ""}, fds);
  handed_over = true;
}

// How one run of the container ended.
struct RunOutcome {
  int exit_code = 0;
  std::optional<std::chrono::milliseconds> restart_in;  // its restart policy restarts it after this
};

// The supervisor proper: one run of the container, from its clone to its
// teardown. Runs in its own process.
// `status_fd` is set to -1 once closed (a detached CLI has its answer).
RunOutcome supervise(const std::filesystem::path& root, const std::string& id, int& status_fd, bool attached,
                     const Config* given_cfg, RestartManager& restarts) {
  Store store(root);
  const Config cfg = given_cfg ? *given_cfg : store.config(id);
  const auto dir = store.dir(id);
  // What the container runs: its bundle's config.json (bundle.h), checked
  // for what minictr cannot do yet before anything is made.
  const oci::Spec bundle = bundle_for_start(cfg, dir, StorePaths{root}.rootfs_mount_point());
  check_supported(bundle);
  // Space for the exit code, taken now: when the container exits the
  // filesystem may be full (see exit_record.h).
  ExitRecord exit_record = ExitRecord::reserve(dir);
  // The files we replace or remove are freed after each report to the CLI,
  // not while it waits (see fs::set_defer_frees).
  fs::set_defer_frees(true);
  const bool new_netns = has_new_network_namespace(bundle);
  enter_joined_network(store, cfg);  // --network container:ID (network_container.h)
  // --rm: remove the container last, after every other guard has torn down.
  bool remove_after_teardown = false;
  ScopeGuard auto_remove([&] {
    if (!remove_after_teardown) return;
    store.remove(id);
    emit_event(root, "destroy", cfg);
  });

  // Signals arrive through a signalfd, read in the I/O loop.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(check_sys(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));

  // root.path: where the overlay of the image layers and upper/ is mounted.
  std::filesystem::path root_path = bundle.root->path;
  if (root_path.is_relative()) root_path = bundle_dir(dir) / root_path;
  rootfs::Spec spec{cfg.layer_dirs, dir, bind_mounts(bundle), "", new_netns, cfg.auto_remove, root_path};
  // The cgroup, before the child runs its command. Its manager reads
  // /proc/self/mountinfo (~0.2 ms): on the second thread when the child
  // shares our memory (below); the version is known from one statfs.
  std::unique_ptr<cgroup::Manager> cg;
  ScopeGuard undo_cgroup([&] {
    if (!cg) return;
    explain::step("rmdir(2)", "rmdir " + cg->path());
    cg->destroy();  // also after a create() that failed half-way: destroy is idempotent
  });
  auto make_cgroup = [&] {
    if (!cg) cg = cgroup::make_manager(id);
    explain::step("mkdir(2)", "mkdir " + cg->path() + "   # cgroup " + cg->version());
    cg->create();
    cg->apply(cgroup_resources(bundle));
    apply_device_allow_list(*cg, device_allow_rules(bundle));
  };
  // How the child starts:
  //  - v2: born in its cgroup (clone3 CLONE_INTO_CGROUP), so the group must
  //    exist before the clone; the child builds its rootfs while we wire up
  //    its network.
  //  - v1 with a bridge: cloned first; it builds its rootfs while we make
  //    its cgroup and network, then it joins the cgroup itself.
  //  - v1 without a bridge, nothing for us to do after the clone: cgroup,
  //    host files and seccomp program first, then a child that shares our
  //    memory until it execs (clone_sharing_memory: cheaper than a fork).
  const bool clone_into_cgroup = cgroup::is_unified();  // a v2 manager can_clone_into()
  const bool share_memory = !clone_into_cgroup && !attaches_to_bridge(cfg.network_mode) && !explain::on() &&
                            linux_ns::can_share_memory();
  const bool cgroup_first = clone_into_cgroup || share_memory;
  if (!share_memory) cg = cgroup::make_manager(id);
  if (clone_into_cgroup) make_cgroup();
  // Sharing memory, a second thread makes the child's network namespace and
  // its cgroup while the child mounts its root filesystem (~2 ms), and hands
  // them over on `handoff` (see receive_from_supervisor in init.cpp). The
  // thread is joined (Background's destructor) before undo_cgroup runs.
  linux_ns::SyncChannel handoff;
  std::optional<Background> make_in_background;
  if (share_memory) {
    make_in_background.emplace([&] { make_netns_and_cgroup(handoff, new_netns, make_cgroup, cg); });
  }

  std::optional<pty::Pty> tty;
  Pipes pipes;
  InitStdio stdio;
  UniqueFd devnull(check_sys(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  if (bundle.process->terminal) {
    tty = pty::open_pty(attached ? 0 : -1);
    stdio.pty_slave = tty->slave_path;
    spec.console = tty->slave_path;
  } else {
    pipes = make_pipes();
    stdio.in = (attached && cfg.interactive) ? 0 : devnull.get();
    stdio.out = pipes.out_w.get();
    stdio.err = pipes.err_w.get();
  }

  linux_ns::SyncChannel sync;
  // Sharing memory, the child joins the network namespace the thread made.
  const int clone_flags = linux_ns::container_clone_flags(new_netns && !share_memory);
  pid_t pid = 0;
  bool born_in_cgroup = false;
  UniqueFd mount_ns;
  // The child's first message when it shares our memory: an error, or
  // nullopt (it exec'd). Read once we run again, after its exec or exit.
  std::optional<protocol::Message> shared_child_error;
  if (share_memory) {
    std::vector<sock_filter> seccomp = prepare_host_files(cfg, spec, StorePaths{root}.seccomp_cache());
    const int child_end = sync.child_fd();
    pid = linux_ns::clone_sharing_memory(clone_flags, [&] {
      ::close(status_fd);  // our copy stays open: the child has its own fd table
      container_init_prepared(cfg, bundle, spec, stdio, child_end, seccomp,
                              handoff.child_fd());  // never returns
    });
    sync.become_parent();
    std::vector<UniqueFd> passed;
    shared_child_error = protocol::recv(sync.parent_fd(), &passed);  // MountNs with its fd, or an early error
    if (shared_child_error && shared_child_error->kind == protocol::Kind::MountNs && !passed.empty()) {
      mount_ns = std::move(passed.front());
      shared_child_error = protocol::recv(sync.parent_fd());
    }
    try {
      make_in_background->join();  // its error, if any, is the one to report (the child gave up on it)
    } catch (...) {
      ::waitpid(pid, nullptr, 0);
      throw;
    }
  } else {
    // v2: the child is born in its cgroup (clone3 CLONE_INTO_CGROUP). v1: it
    // moves itself there first thing (or we move it, with --explain).
    UniqueFd cgroup_fd(clone_into_cgroup ? cg->open_for_clone() : -1);
    pid = linux_ns::clone_process(clone_flags, cgroup_fd.get(), &born_in_cgroup);
    if (pid == 0) {
      ::close(status_fd);
      container_init(cfg, bundle, spec, stdio, sync, StorePaths{root}.seccomp_cache(),
                     (born_in_cgroup || explain::on()) ? nullptr : cg.get());  // never returns
    }
    sync.become_parent();
    // Hold the child's mount namespace: when the container's init exits, the
    // kernel then only drops a reference, instead of unmounting the overlay,
    // /proc, /dev... (two RCU grace periods, ~0.6 ms) before it tells us. The
    // namespace goes when we close this, after the exit is reported.
    mount_ns.reset(::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  }
  pipes.out_w.reset();
  pipes.err_w.reset();
  ScopeGuard kill_child([&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });

  // From the outside: cgroup, then network, then "go". Meanwhile the child
  // prepares its files and mounts its root filesystem.
  std::optional<net::Attachment> attachment;
  net::Network network = Networks(store).open(cfg.network_mode);
  ScopeGuard undo_network([&] {
    if (attachment) network.detach(id);
  });
  auto prepare_from_outside = [&] {
    if (!cgroup_first) make_cgroup();
    if (explain::on() && !born_in_cgroup) cg->add_pid(pid);  // else the child joins itself (container_init)
    if (attaches_to_bridge(cfg.network_mode)) {
      attachment = network.attach({id, cfg.name, cfg.ports, dir / "hosts", cfg.network_aliases}, pid);
      std::vector<std::pair<std::string, std::string>> peers;
      for (const auto& h : network.hosts())
        if (h.container_id != id) peers.emplace_back(h.name, h.ip);
      write_etc_files(dir, cfg, attachment->ip, peers, attachment->ip6,
                      network_name_server(store, cfg.network_mode));
      network.refresh_hosts_file(id);  // peers that attached since hosts() (their update hit the old inode)
    }
    update_state(store, id, [&](State& s) {
      s.status = "running";
      s.restarting = false;
      s.pid = pid;
      s.pid_start = linux_proc::start_time(pid);
      s.supervisor_pid = ::getpid();
      s.supervisor_start = linux_proc::start_time(::getpid());
      s.exit_code = 0;
      s.oom_killed = false;
      s.error.clear();
      s.started_at = now_rfc3339();
      s.finished_at.clear();
      s.cgroup_path = cg->path();
      s.network = attachment;
      if (cfg.healthcheck)
        s.health = Health{"starting", 0, s.health ? s.health->log : std::vector<HealthLogEntry>{}};
    });
  };
  // The child either execs (its end of the socket closes: EOF) or reports an error.
  std::optional<protocol::Message> err;
  if (share_memory) {
    err = shared_child_error;
    if (!err) prepare_from_outside();  // only the state is left to write
  } else {
    bool child_failed_early = false;
    try {
      prepare_from_outside();
    } catch (const std::exception&) {
      // The child builds its root filesystem meanwhile; if that failed, it has
      // exited and its error (queued before it exited) is the one to report,
      // not ours about a process that is gone.
      if (!sync.child_spoke(100)) throw;
      child_failed_early = true;
    }
    if (!child_failed_early) {
      explain::step("send(2)", "# tell the child \"go\": its cgroup and network are ready");
      try {
        protocol::send(sync.parent_fd(), {protocol::Kind::Go, 0, ""});
      } catch (const SysError&) {
        // EPIPE: the child failed while building its root filesystem; its
        // error is queued below.
      }
    }
    err = protocol::recv(sync.parent_fd());
  }
  if (err) {
    const bool reported = err->kind == protocol::Kind::SetupFailed;
    int code = reported ? static_cast<int>(err->number) : kExitRuntimeError;
    std::string msg = reported ? err->text : "the container's init said \"" + protocol::describe(*err) + "\"";
    kill_child.dismiss();
    ::waitpid(pid, nullptr, 0);
    // Tear down before answering: when `run` returns, nothing of it is left.
    undo_network.dismiss();
    if (attachment) network.detach(id);
    undo_cgroup.dismiss();
    cg->destroy();
    exit_record.write(code, false, now_rfc3339());
    record_exit(store, id, code, false, msg);
    if (cfg.auto_remove) {
      store.unlist(id);
      remove_after_teardown = true;
    }
    tell_cli(status_fd, protocol::Kind::StartFailed, code, msg);
    return {code, std::nullopt};
  }
  kill_child.dismiss();
  const auto started = std::chrono::steady_clock::now();
  emit_event(root, "start", cfg);  // before the CLI returns: a verb it runs next comes after
  tell_cli(status_fd, protocol::Kind::Started, pid);
  // The health check's own process, from now until the init exits.
  pid_t health_monitor = cfg.healthcheck ? start_health_monitor(root, id, *cfg.healthcheck, pid) : -1;
  ScopeGuard stop_monitor([&] { stop_health_monitor(health_monitor); });
  fs::release_deferred_frees();
  if (!attached) {
    ::close(status_fd);
    status_fd = -1;
    if (explain::on()) {  // the CLI has returned: nobody reads the rest
      ::close(explain::fd());
      explain::enable(-1);
    }
  }

  LogWriter log(store.log_path(id), log_options_of(cfg.log_config));
  IoLoop loop{log, attached};
  loop.sigfd = sigfd.get();
  loop.pid = pid;
  if (tty) {
    loop.master = tty->master.get();
    if (attached && cfg.interactive) loop.stdin_src = 0;
  } else {
    loop.out = pipes.out_r.get();
    loop.err = pipes.err_r.get();
  }
  loop.run();
  explain::step("waitpid(2)",
                "wait " + std::to_string(pid) + "   # reap the container's init, record its exit code");
  if (!loop.exited) {
    ::waitpid(pid, &loop.status, 0);
  }
  log.flush();
  stop_monitor.dismiss();
  stop_health_monitor(health_monitor);
  int code = exit_code_of(loop.status);
  bool oom = false;
  try {
    oom = cg->oom_killed();
  } catch (const std::exception&) {
  }
  if (oom && WIFSIGNALED(loop.status)) code = 137;
  undo_network.dismiss();
  undo_cgroup.dismiss();
  // The container's address and ports stay reserved (under the IPAM lock)
  // until the network teardown below is done.
  std::optional<net::Network::PendingDetach> detach;
  if (attachment) detach.emplace(network.detach_later(id));
  // --rm: gone from ps and its name free before `run` returns (as Docker's
  // CLI waits for the removal); the files go right after. Its exit is
  // recorded nowhere but in the message to the CLI.
  exit_record.write(code, oom, now_rfc3339());
  std::optional<std::chrono::milliseconds> restart_in;
  if (cfg.auto_remove) {
    store.unlist(id);
  } else {
    try {
      const auto ran_for =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      restart_in = record_exit(store, id, code, oom, "", &restarts, ran_for);
    } catch (const std::exception&) {
      // No space for a new state.json: the exit record has the exit, and
      // the teardown below must still run.
    }
  }
  // Before the CLI hears of it: what it does next comes after the "die".
  if (oom) emit_event(root, "oom", cfg);
  emit_event(root, "die", cfg, {{"exitCode", std::to_string(code)}});
  tell_cli(status_fd, protocol::Kind::Exited, code);
  mount_ns.reset();  // unmounts the container's root filesystem
  // Teardown after the report: every process of the container is dead (the
  // kernel kills a PID namespace with its init), so none of this is
  // observable, and the veth's deletion alone waits ~20 ms in the kernel (an
  // RCU barrier). `rm`, `system prune` and the next attach take the same
  // locks, and so wait for it.
  run_both(
      [&] {
        explain::step("rmdir(2)", "rmdir " + cg->path() + "   # after killing anything left in it");
        cg->destroy();
      },
      [&] { detach.reset(); });
  release_connected_networks(store, id);  // network_connect.h
  fs::release_deferred_frees();
  remove_after_teardown = cfg.auto_remove;
  return {code, restart_in};
}

// Between two runs: wait out the restart delay, unless a stop or kill ends
// the loop meanwhile (it sets stop_requested and signals us). Returns true
// to start again; otherwise the container is recorded as exited.
bool wait_for_restart(const Store& store, const std::string& id, std::chrono::milliseconds delay) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(check_sys(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));
  pollfd p{sigfd.get(), POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + delay;
  bool interrupted = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())
            .count();
    if (left <= 0) break;
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) {
      interrupted = true;
      break;
    }
  }
  bool again = false;
  update_state(store, id, [&](State& s) {
    again = !interrupted && !s.stop_requested;
    if (again) return;
    s.status = "exited";
    s.restarting = false;
  });
  return again;
}

// supervise() threw (its guards have undone what it made): the container
// exited with `code`, or with --rm it is gone, before the CLI hears of it.
void record_failed_start(const std::filesystem::path& root, const std::string& id, int code,
                         const std::string& error) {
  try {
    Store store(root);
    if (store.config(id).auto_remove) {
      store.unlist(id);
      store.remove(id);
    } else {
      record_exit(store, id, code, false, error);
    }
  } catch (const std::exception&) {
    // The store itself failed: the error still goes to the CLI.
  }
}

[[noreturn]] void supervisor_main(const std::filesystem::path& root, const std::string& id, int status_fd,
                                  bool attached, const Config* cfg) {
  ::prctl(PR_SET_NAME, "minictr-shim");
  std::signal(SIGPIPE, SIG_IGN);
  if (!attached) {
    int null = ::open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; ++i) ::dup2(null, i);
    if (null > 2) ::close(null);
  }
  // A new start by the user: the restart count and a past stop are forgotten (as Docker does).
  try {
    Store store(root);
    update_state(store, id, [](State& s) {
      s.restart_count = 0;
      s.stop_requested = false;
    });
  } catch (const std::exception&) {
    // supervise() meets the same store and reports it
  }
  RestartManager restarts;
  int code = kExitRuntimeError;
  for (;;) {
    std::string error;
    RunOutcome run;
    try {
      run = supervise(root, id, status_fd, attached, cfg, restarts);
      code = run.exit_code;
    } catch (const Error& e) {
      code = e.exit_code();
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      record_failed_start(root, id, code, error);
      tell_cli(status_fd, protocol::Kind::StartFailed, code, error);
    }
    if (!run.restart_in) break;
    // The CLI that started it has its answer: later runs are detached.
    if (status_fd >= 0) ::close(std::exchange(status_fd, -1));
    if (attached) {
      int null = ::open("/dev/null", O_RDWR);
      for (int i = 0; i < 3; ++i) ::dup2(null, i);
      if (null > 2) ::close(null);
      attached = false;
    }
    cfg = nullptr;  // read config.json again: `update` may have changed it
    try {
      if (!wait_for_restart(Store(root), id, *run.restart_in)) break;
    } catch (const std::exception&) {
      break;  // removed meanwhile
    }
  }
  ::_exit(code & 0xff);
}

}  // namespace

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
      // Keep only 0-2, the status socket and the --explain output.
      int keep[2] = {sv[1], explain::fd()};
      if (keep[1] >= 0 && keep[1] < 3) keep[1] = -1;  // stays open as 0-2 when attached
      if (keep[1] >= 0 && keep[1] < keep[0]) std::swap(keep[0], keep[1]);
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
