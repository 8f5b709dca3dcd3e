// minictr run [flags] IMAGE|FILE.tar [CMD...]
#include <unistd.h>

#include <iostream>

#include "cli/resource_options.h"
#include "cli/verbs.h"
#include "container/lifecycle.h"
#include "container/supervisor.h"
#include "image/store.h"
#include "linux/pty.h"
#include "util/error.h"

namespace mctr::cli {

namespace {

struct RunFlags {
  container::RunOptions o;
  ResourceOptions resources;
  std::string entrypoint;
  bool entrypoint_set = false;
  std::vector<std::string> security_opts;
  std::string health_cmd;
  bool no_healthcheck = false;
};

}  // namespace

// Flags shared by `run` and `create`.
static void add_run_flags(CLI::App* sub, RunFlags& f) {
  auto& o = f.o;
  sub->set_help_flag("--help", "Print this help");  // -h is --hostname, as in Docker
  sub->add_option("image", o.image, "Image reference or archive (FILE.tar[:tag])")->required();
  sub->add_option("command", o.cmd, "Command and arguments");
  sub->add_flag("-d,--detach", o.detach, "Run in the background and print the container ID");
  sub->add_flag("-i,--interactive", o.interactive, "Keep STDIN open");
  sub->add_flag("-t,--tty", o.tty, "Allocate a pseudo-TTY");
  sub->add_flag("--rm", o.auto_remove, "Remove the container when it exits");
  sub->add_option("--name", o.name, "Container name");
  sub->add_option("--hostname,-h", o.hostname, "Container host name");
  sub->add_option("-e,--env", o.env, "Set environment variables")->allow_extra_args(false);
  sub->add_option("--env-file", o.env_files, "Read environment variables from a file")
      ->allow_extra_args(false);
  sub->add_option("-w,--workdir", o.workdir, "Working directory inside the container");
  sub->add_option("-u,--user", o.user, "User (name|uid[:group|gid])");
  sub->add_option("--entrypoint", f.entrypoint, "Overwrite the image's ENTRYPOINT")
      ->each([&f](const std::string&) { f.entrypoint_set = true; });
  sub->add_option("-v,--volume", o.volumes, "Bind mount or named volume SRC:DST[:ro]")
      ->allow_extra_args(false);
  sub->add_option("-p,--publish", o.ports, "Publish a port [hostip:]hostport:containerport[/proto]")
      ->allow_extra_args(false);
  sub->add_flag("-P,--publish-all", o.publish_all, "Publish all EXPOSEd ports to free host ports");
  sub->add_option("--network,--net", o.network, "bridge (default), none, host or a user network");
  sub->add_option("--network-alias", o.network_aliases, "Another name for the container on its user network")
      ->allow_extra_args(false);
  sub->add_flag("--read-only", o.read_only, "Mount the container's root filesystem read-only");
  f.resources.add_to(sub);
  sub->add_option("--cap-add", o.security.cap_add, "Add Linux capabilities")->allow_extra_args(false);
  sub->add_option("--cap-drop", o.security.cap_drop, "Drop Linux capabilities")->allow_extra_args(false);
  sub->add_flag("--privileged", o.security.privileged, "Give extended privileges to this container");
  sub->add_option("--security-opt", f.security_opts,
                  "seccomp=unconfined|FILE, no-new-privileges[:true|false]")
      ->allow_extra_args(false);
  sub->add_option("--log-opt", o.log_opts,
                  "Log options: max-size=SIZE (default 10m, -1: none), max-file=N (default 3)")
      ->allow_extra_args(false);
  sub->add_option("--restart", o.restart,
                  "Restart policy: no, on-failure[:max-retries], always, unless-stopped");
  sub->add_option(
      "--userns", o.userns,
      "User namespace: host (default), CONTAINER_ID:HOST_ID:SIZE for uids and gids (0:100000:65536), "
      "or remap: the first dockremap or root line of /etc/subuid and /etc/subgid, else 0:100000:65536");
  sub->add_flag("--init", o.init,
                "Run an init inside the container that forwards signals and reaps processes");
  sub->add_option("--health-cmd", f.health_cmd, "Command to run to check health");
  sub->add_option("--health-interval", o.health_interval,
                  "Time between running the check (ms|s|m|h) (default 30s)");
  sub->add_option("--health-timeout", o.health_timeout,
                  "Maximum time to allow one check to run (ms|s|m|h) (default 30s)");
  sub->add_option("--health-retries", o.health_retries, "Consecutive failures needed to report unhealthy");
  sub->add_option("--health-start-period", o.health_start_period,
                  "Start period for the container to initialize before counting retries (ms|s|m|h)");
  sub->add_flag("--no-healthcheck", f.no_healthcheck, "Disable any container-specified HEALTHCHECK");
  // Everything after the image is the command, flags included.
  sub->positionals_at_end();
}

// Turn the parsed strings into the typed options.
container::RunOptions finish_run_flags(RunFlags& f, CLI::App* sub) {
  auto o = f.o;
  if (f.entrypoint_set) o.entrypoint = f.entrypoint;
  // Each flag alone here; the limits together in create_container.
  o.resources = f.resources.parse();
  for (const auto& so : f.security_opts) {
    if (so.rfind("seccomp=", 0) == 0 || so.rfind("seccomp:", 0) == 0) {
      o.security.seccomp = so.substr(8);
    } else if (so == "no-new-privileges" || so == "no-new-privileges:true" ||
               so == "no-new-privileges=true") {
      o.security.no_new_privs = true;
    } else if (so == "no-new-privileges:false" || so == "no-new-privileges=false") {
      o.security.no_new_privs = false;
    } else {
      throw Error("invalid --security-opt: " + so);
    }
  }
  const bool health_flags = !f.health_cmd.empty() || sub->count("--health-interval") ||
                            sub->count("--health-timeout") || sub->count("--health-retries") ||
                            sub->count("--health-start-period");
  if (f.no_healthcheck && health_flags) throw Error("--no-healthcheck conflicts with --health-* options");
  if (f.no_healthcheck) o.health_test = {"NONE"};
  if (!f.health_cmd.empty()) o.health_test = {"CMD-SHELL", f.health_cmd};
  return o;
}

// Tell a spawned supervisor to start container `id`, and follow it
// (foreground) or not (-d).
static int start_and_follow(container::SupervisorHandle& sup, const std::filesystem::path& root,
                            const std::string& id, bool attach, bool tty, bool print_id, int overlay = -1) {
  // With -t the terminal goes raw: ^C and friends reach the container as bytes.
  std::optional<pty::RawMode> raw;
  if (attach && tty && ::isatty(0)) raw.emplace(0);
  sup.start(id, overlay);
  auto started = sup.wait_started();
  if (!started.ok) {
    raw.reset();
    std::cerr << "minictr: error: " << started.error << "\n";
    return started.exit_code;
  }
  if (!attach) {
    if (print_id) std::cout << id << "\n";
    return 0;
  }
  auto code = sup.wait_exited(started.pid);
  raw.reset();
  if (code) return *code;
  // The supervisor vanished: the state file has the truth.
  container::Store store(root);
  try {
    return container::observed_state(store, id).exit_code;
  } catch (const Error&) {
    return kExitRuntimeError;
  }
}

// Attached, the signals we forward are blocked before the supervisor is
// spawned, so none is lost or kills us while the container starts.
static container::SupervisorHandle spawn_supervisor(const std::filesystem::path& root, bool attach,
                                                    bool make_network_namespace = false) {
  if (attach) container::SupervisorHandle::hold_signals();
  return container::SupervisorHandle::spawn(root, attach, make_network_namespace);
}

int start_and_follow(const std::filesystem::path& root, const std::string& id, bool attach, bool tty,
                     bool print_id) {
  auto sup = spawn_supervisor(root, attach);
  return start_and_follow(sup, root, id, attach, tty, print_id);
}

// Parse the flags and create the container (shared by run and create).
static container::Config create_from_flags(Globals& g, RunFlags& f, CLI::App* sub, container::RunOptions& o,
                                           container::WriteBundle when) {
  f.o.cmd = command_as_typed(f.o.cmd, g.argv);
  o = finish_run_flags(f, sub);
  container::Store store(g.root());
  image::Store images(g.root());
  return container::create_container(store, images, o, when);
}

// --explain-script renders once the supervisor is done, so it follows the
// run to its end: no -d (the teardown comes after the CLI has gone), no
// restart policy (the supervisor would go on).
static void check_explain_script_run(const Globals& g, const container::RunOptions& o) {
  if (g.explain_script.empty()) return;
  if (o.detach)
    throw Error(
        "--explain-script needs a run in the foreground (not -d): its teardown is part of the script");
  if (!o.restart.empty() && o.restart != "no")
    throw Error("--explain-script cannot follow a --restart policy");
  if (!o.userns.empty() && o.userns != "host")
    throw Error("--explain-script cannot replay --userns: its idmapped layers are built by no shell command");
}

void add_run(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("run", "Create and run a new container from an image");
  auto f = std::make_shared<RunFlags>();
  add_run_flags(sub, *f);
  sub->callback([&g, f, sub] {
    check_explain_script_run(g, f->o);
    // The supervisor first: its exec runs while we create the container.
    auto sup = spawn_supervisor(g.root(), !f->o.detach, container::gets_own_network_namespace(f->o));
    container::RunOptions o;
    auto cfg = create_from_flags(g, *f, sub, o, container::WriteBundle::kAtStart);
    g.explained_id = cfg.id;
    const UniqueFd overlay = container::make_overlay_in_advance(container::Store(g.root()), cfg);
    try {
      g.exit_code = start_and_follow(sup, g.root(), cfg.id, !o.detach, o.tty, true, overlay.get());
    } catch (const container::SupervisorNotStarted&) {
      container::remove_container(container::Store(g.root()), cfg.id, true);  // nothing half-made
      throw;
    }
  });
}

void add_create(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("create", "Create a new container (start it with `minictr start`)");
  auto f = std::make_shared<RunFlags>();
  add_run_flags(sub, *f);
  sub->callback([&g, f, sub] {
    container::RunOptions o;
    std::cout << create_from_flags(g, *f, sub, o, container::WriteBundle::kNow).id << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
