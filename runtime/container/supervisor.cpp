// The supervisor proper (like conmon / containerd-shim): one process per
// container, forked by the CLI (supervisor_client.cpp). Each run of the
// container is the list of steps in supervise(); each step's concern is in
// its own file:
//   bundle.h         what runs: the bundle's config.json
//   outside_setup.h  cgroup and network, made from the host side
//   child_start.h    starting the init (init.h: its steps inside)
//   io_pump.h        output to the log and the terminal, signals
//   run_state.h      what the store records: running, exited, restarting
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <utility>

#include "container/bundle.h"
#include "container/child_start.h"
#include "container/events.h"
#include "container/exit_record.h"
#include "container/from_bundle.h"
#include "container/health.h"
#include "container/io_pump.h"
#include "container/logfile.h"
#include "container/outside_setup.h"
#include "container/protocol.h"
#include "container/restart.h"
#include "container/run_state.h"
#include "container/state.h"
#include "container/supervisor_process.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"
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

void stdio_to_dev_null() {
  int null = ::open("/dev/null", O_RDWR);
  for (int i = 0; i < 3; ++i) ::dup2(null, i);
  if (null > 2) ::close(null);
}

// A detached CLI has its answer once the container started: nobody reads
// the rest (nor the rest of an --explain trace).
void close_cli(int& status_fd) {
  ::close(std::exchange(status_fd, -1));
  if (explain::fd() >= 0) ::close(explain::fd());
  if (explain::records_fd() >= 0) ::close(explain::records_fd());  // the CLI waits for its end
  explain::enable(-1);
  explain::enable_records(-1);
}

// How one run of the container ended.
struct RunOutcome {
  int exit_code = 0;
  std::optional<std::chrono::milliseconds> restart_in;  // its restart policy restarts it after this
};

// What a run starts from: the container's config and bundle, checked for
// what minictr cannot do yet before anything is made.
struct RunInputs {
  Store store;
  Config cfg;
  std::filesystem::path dir;
  bool bundle_made = false;  // not on disk yet: written once the init is started
  oci::Spec bundle;

  RunInputs(const std::filesystem::path& root, const std::string& id)
      : store(root),
        cfg(store.config(id)),
        dir(store.dir(id)),
        bundle(bundle_for_start(cfg, dir, StorePaths{root}.rootfs_mount_point(), &bundle_made)) {
    check_supported(bundle);
  }

  // What the init mounts: the overlay of the image layers and upper/ at
  // the bundle's root.path, and the bind mounts (with -t the init binds
  // /dev/console itself, after pivot_root).
  rootfs::Spec rootfs_spec() const {
    std::filesystem::path root_path = bundle.root->path;
    if (root_path.is_relative()) root_path = bundle_dir(dir) / root_path;
    rootfs::Spec spec{cfg.layer_dirs,  dir,      bind_mounts(bundle), has_new_network_namespace(bundle),
                      cfg.auto_remove, root_path};
    return spec;
  }
};

// The init said it could not set the container up: tear down before
// answering (when `run` returns, nothing of it is left), record the exit.
int fail_start(const RunInputs& in, OutsideSetup& outside, ExitRecord& exit_record, const StartedChild& child,
               int status_fd) {
  const protocol::Message& err = *child.setup_error;
  const bool reported = err.kind == protocol::Kind::SetupFailed;
  const int code = reported ? static_cast<int>(err.number) : kExitRuntimeError;
  const std::string msg =
      reported ? err.text : "the container's init said \"" + protocol::describe(err) + "\"";
  ::waitpid(child.pid, nullptr, 0);
  outside.undo();
  exit_record.write(code, false, now_rfc3339());
  record_exit(in.store, in.cfg.id, code, false, msg);
  if (in.cfg.auto_remove) in.store.unlist(in.cfg.id);
  tell_cli(status_fd, protocol::Kind::StartFailed, code, msg);
  return code;
}

// The init has exited with wait status `status`: record it (--rm: gone
// from ps and its name free before `run` returns, as Docker's CLI waits for
// the removal; the files go after the teardown) and tell the CLI. Returns
// the exit code and the restart policy's decision.
RunOutcome report_exit(const RunInputs& in, OutsideSetup& outside, ExitRecord& exit_record, int status,
                       std::chrono::milliseconds ran_for, RestartManager& restarts, int status_fd) {
  int code = exit_code_of(status);
  bool oom = false;
  try {
    oom = outside.cgroup().oom_killed();
  } catch (const std::exception&) {
  }
  if (oom && WIFSIGNALED(status)) code = 137;
  outside.begin_teardown();
  exit_record.write(code, oom, now_rfc3339());
  std::optional<std::chrono::milliseconds> restart_in;
  if (in.cfg.auto_remove) {
    in.store.unlist(in.cfg.id);
  } else {
    try {
      restart_in = record_exit(in.store, in.cfg.id, code, oom, "", &restarts, ran_for);
    } catch (const std::exception&) {
      // No space for a new state.json: the exit record has the exit, and
      // the teardown must still run.
    }
  }
  // Before the CLI hears of it: what it does next comes after the "die".
  const auto root = in.store.root();
  if (oom) emit_event(root, "oom", in.cfg);
  emit_event(root, "die", in.cfg, {{"exitCode", std::to_string(code)}});
  tell_cli(status_fd, protocol::Kind::Exited, code);
  return {code, restart_in};
}

// One run of the container, from its clone to its teardown.
// `status_fd` is set to -1 once closed (a detached CLI has its answer).
// The first run takes what the CLI made in advance, if anything.
RunOutcome supervise(const std::filesystem::path& root, const std::string& id, int& status_fd, bool attached,
                     RestartManager& restarts, MadeByCli& in_advance) {
  const RunInputs in(root, id);
  const Config& cfg = in.cfg;
  // Space for the exit code, taken now: when the container exits the
  // filesystem may be full (see exit_record.h).
  ExitRecord exit_record = ExitRecord::reserve(in.dir);
  // The files we replace or remove are freed after each report to the CLI,
  // not while it waits (see fs::set_defer_frees).
  fs::set_defer_frees(true);
  // --rm: remove the container last, after everything else is torn down.
  bool remove_at_end = false;
  ScopeGuard auto_remove([&] {
    if (!remove_at_end) return;
    explain::step("unlink/rmdir",
                  "rm -rf " + in.store.dir(id).string() + "   # --rm: upper dir, logs, state");
    in.store.remove(id);
    emit_event(root, "destroy", cfg);
  });
  UniqueFd sigfd = supervisor_signalfd();
  ContainerStdio stdio = ContainerStdio::make(in.bundle.process->terminal, attached, cfg.interactive);
  rootfs::Spec fs_spec = in.rootfs_spec();

  // 1. Start the init; its cgroup and network are made from the outside meanwhile.
  explain::step("mkdir(2)", "mkdir -p " + in.dir.string() +
                                "   # the container's directory: `create` made it (config.json, state.json)");
  OutsideSetup outside(in.store, cfg, in.bundle);
  const bool new_netns = has_new_network_namespace(in.bundle);
  UniqueFd netns = in_advance.netns.take();
  if (!new_netns || user_namespace_maps(in.bundle)) netns.reset();
  UniqueFd overlay = std::move(in_advance.overlay);
  if (user_namespace_maps(in.bundle)) overlay.reset();
  fs_spec.overlay_fd = overlay.get();
  const ChildPlan plan{.bundle = in.bundle,
                       .fs = fs_spec,
                       .stdio = stdio.for_init,
                       .seccomp_cache = StorePaths{root}.seccomp_cache(),
                       .status_fd = status_fd,
                       .new_netns = new_netns,
                       .netns = netns.get()};
  StartedChild child = choose_child_start(in.bundle)->start(plan, outside, [&](pid_t pid) {
    // While the init mounts (on the second thread, where there is one): a
    // container recorded as running has its bundle on disk.
    if (in.bundle_made) write_bundle(in.dir, in.bundle, !cfg.auto_remove);
    outside.attach_network(pid);
    record_running(in.store, id, pid, outside.cgroup().path(), outside.attachment(),
                   cfg.healthcheck.has_value());
  });
  stdio.close_child_ends();
  if (stdio.terminal && !child.setup_error) stdio.take_master(std::move(child.console));
  overlay.reset();  // the init attached it (or failed)
  netns.reset();    // the init is in it: it goes when the container's last process does
  if (child.setup_error) {
    remove_at_end = cfg.auto_remove;
    return {fail_start(in, outside, exit_record, child, status_fd), std::nullopt};
  }

  // 2. It runs: tell the CLI, watch its health, copy its output until it exits.
  const auto started = std::chrono::steady_clock::now();
  emit_event(root, "start", cfg);  // before the CLI returns: a verb it runs next comes after
  tell_cli(status_fd, protocol::Kind::Started, child.pid);
  pid_t health_monitor = cfg.healthcheck ? start_health_monitor(root, id, *cfg.healthcheck, child.pid) : -1;
  ScopeGuard stop_monitor([&] { stop_health_monitor(health_monitor); });
  fs::release_deferred_frees();
  if (!attached) close_cli(status_fd);
  LogWriter log(in.store.log_path(id), log_options_of(cfg.log_config));
  const int status = pump_until_exit(log, stdio, attached, cfg.interactive, sigfd.get(), child.pid);
  log.flush();
  stop_monitor.dismiss();
  stop_health_monitor(health_monitor);

  // 3. It exited: record and report that, then tear down what the outside setup made.
  const auto ran_for =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  RunOutcome outcome = report_exit(in, outside, exit_record, status, ran_for, restarts, status_fd);
  child.mount_ns.reset();  // unmounts the container's root filesystem
  outside.finish_teardown();
  fs::release_deferred_frees();
  remove_at_end = cfg.auto_remove;
  return outcome;
}

}  // namespace

[[noreturn]] void supervisor_main(const std::filesystem::path& root, const std::string& id, int status_fd,
                                  bool attached, MadeByCli in_advance) {
  ::prctl(PR_SET_NAME, "minictr-shim");
  std::signal(SIGPIPE, SIG_IGN);
  if (!attached) stdio_to_dev_null();
  reset_restart_state(root, id);
  RestartManager restarts;
  int code = kExitRuntimeError;
  for (;;) {
    std::string error;
    RunOutcome run;
    try {
      run = supervise(root, id, status_fd, attached, restarts, in_advance);
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
      stdio_to_dev_null();
      attached = false;
    }
    try {
      if (!wait_for_restart(Store(root), id, *run.restart_in)) break;
    } catch (const std::exception&) {
      break;  // removed meanwhile
    }
  }
  // Nobody waits for us any more: the nursery of the container's id, for a
  // later one (see Store::make_nursery).
  try {
    Store(root).make_nursery(id);
  } catch (const std::exception&) {
  }
  ::_exit(code & 0xff);
}

}  // namespace mctr::container
