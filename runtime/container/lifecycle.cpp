#include "container/lifecycle.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "container/bundle.h"
#include "container/env.h"
#include "container/events.h"
#include "container/health.h"
#include "container/logfile.h"
#include "container/mount_destination.h"
#include "container/network_connect.h"
#include "container/network_container.h"
#include "container/networks.h"
#include "container/pause.h"
#include "container/resource_flags.h"
#include "container/restart.h"
#include "container/userns_mode.h"
#include "linux/cgroup/manager.h"
#include "linux/init_layer.h"
#include "linux/net/network.h"
#include "linux/proc.h"
#include "linux/rootfs.h"
#include "linux/user.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"
#include "util/paths.h"

namespace mctr::container {

namespace stdfs = std::filesystem;

static bool valid_volume_name(const std::string& n) {
  if (n.empty() || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Mount parse_volume(const Store& store, const std::string& spec) {
  // host:ctr[:ro|rw] ; a host part starting with / or . is a path, else a volume name.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t c; (c = spec.find(':', start)) != std::string::npos; start = c + 1)
    parts.push_back(spec.substr(start, c - start));
  parts.push_back(spec.substr(start));
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    throw Error("invalid volume specification: '" + spec + "' (want SRC:DST[:ro])");
  Mount m;
  m.destination = checked_mount_destination(spec, parts[1]);  // before any mkdir below
  if (parts.size() == 3) {
    if (parts[2] == "ro")
      m.read_only = true;
    else if (parts[2] != "rw")
      throw Error("invalid volume specification: '" + spec + "': mode must be ro or rw");
  }
  if (parts[0][0] == '/' || parts[0][0] == '.') {
    m.type = "bind";
    m.source = stdfs::absolute(parts[0]).lexically_normal().string();
    if (m.source.size() > 1 && m.source.back() == '/') m.source.pop_back();
    // Docker creates a missing bind source directory.
    if (!stdfs::exists(m.source)) fs::mkdir_p(m.source, 0755);
  } else {
    if (!valid_volume_name(parts[0])) throw Error("invalid volume name: '" + parts[0] + "'");
    m.type = "volume";
    m.name = parts[0];
    // As Docker: volumes/ and volumes/NAME/ are for root only (an older
    // minictr made them 0755), _data itself keeps 0755 for the container's
    // users, who reach it through the bind mount, never through its parents.
    make_private_dir(store.volumes_dir());
    make_private_dir(store.volumes_dir() / m.name);
    auto data = store.volumes_dir() / m.name / "_data";
    if (::mkdir(data.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir", data);
    m.source = data.string();
  }
  return m;
}

// The -e and --env-file variables, in order (later ones win), read and
// checked before anything is made.
static std::vector<std::string> env_from_options(const RunOptions& o) {
  std::vector<std::string> out;
  for (const auto& f : o.env_files) {
    std::string text;
    try {
      text = fs::read_file(f);
    } catch (const Error&) {
      throw Error("open " + f + ": no such env file");
    }
    for (auto& kv : parse_env_file(text)) out.push_back(kv);
  }
  for (const auto& e : o.env)
    if (auto kv = env_from_flag(e)) out.push_back(*kv);
  return out;
}

// --network as the container records it: a user network by its name (the
// flag may give its id), a joined container by its full id.
static NetworkMode network_mode_from(const Store& store, const RunOptions& o) {
  NetworkMode mode = NetworkMode::parse(o.network);
  const bool publishes = !o.ports.empty() || o.publish_all;
  if (mode.joins_container()) return joined_network_mode(store, mode, publishes, o.hostname);
  if (mode.kind == NetworkMode::Kind::kUser) mode.target = Networks(store).name_of(mode.target);
  if (!mode.attaches_to_bridge() && publishes)
    throw Error("published ports need the bridge network (--network " + o.network + " has none)");
  if (!o.network_aliases.empty() && mode.kind != NetworkMode::Kind::kUser)
    throw Error("network-scoped aliases are only supported for user-defined networks");
  return mode;
}

bool gets_own_network_namespace(const RunOptions& o) {
  if (!o.userns.empty() && o.userns != "host") return false;
  try {
    const NetworkMode mode = NetworkMode::parse(o.network);
    return mode.kind != NetworkMode::Kind::kHost && !mode.joins_container();
  } catch (const Error&) {
    return false;  // create_container says why
  }
}

Config create_container(const Store& store, image::Store& images, const RunOptions& o, WriteBundle when) {
  const NetworkMode network_mode = network_mode_from(store, o);
  // Every flag is checked before anything is made (an archive loaded, a
  // bind source created): a refused run leaves nothing behind.
  if (!o.name.empty()) check_container_name(o.name);
  if (!o.user.empty()) user::check_spec(o.user);
  const std::string userns = resolve_userns(o.userns, network_mode, o.security.privileged);
  std::vector<std::string> env = env_from_options(o);
  check_resources(o.resources);
  auto log_config = log_config_from_flags(o.log_opts);
  const RestartPolicy restart = parse_restart_policy(o.restart);
  if (restart.name != RestartName::kNo && o.auto_remove)
    throw Error("conflicting options: cannot specify both --restart and --rm");
  image::Image img = images.resolve(o.image);
  // The image's HEALTHCHECK (as `minictr build` stores it) under the flags.
  std::optional<Healthcheck> image_check;
  if (const auto full = nlohmann::json::parse(images.config_json(img));
      full.contains("config") && full["config"].is_object() && full["config"].contains("Healthcheck"))
    image_check = healthcheck_from(full["config"]["Healthcheck"]);
  const auto healthcheck = merge_healthcheck(image_check, {o.health_test, o.health_interval, o.health_timeout,
                                                           o.health_start_period, o.health_retries});
  Config c;
  c.name = o.name;
  c.image = o.image;
  c.image_id = img.id;
  for (const auto& d : img.layer_dirs) c.layer_dirs.push_back(d.string());
  if (auto init = rootfs::init_layer(StorePaths{store.root()}.init_layers(), c.layer_dirs))
    c.layer_dirs.push_back(init->string());

  // Docker's rule: --entrypoint replaces the image's entrypoint and drops its Cmd.
  std::vector<std::string> entrypoint = img.config.entrypoint, cmd = img.config.cmd;
  if (o.entrypoint) {
    entrypoint = o.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*o.entrypoint};
    cmd.clear();
  }
  if (!o.cmd.empty()) cmd = o.cmd;
  c.entrypoint = entrypoint;
  c.cmd = cmd;
  c.args = entrypoint;
  c.args.insert(c.args.end(), cmd.begin(), cmd.end());
  if (c.args.empty()) throw Error("no command specified (the image has no Entrypoint or Cmd)");

  c.env = img.config.env;
  for (const auto& kv : env) set_env(c.env, kv);
  c.working_dir =
      !o.workdir.empty() ? o.workdir : (img.config.working_dir.empty() ? "/" : img.config.working_dir);
  if (c.working_dir[0] != '/')
    throw Error("the working directory '" + c.working_dir + "' is invalid, it needs to be an absolute path");
  c.user = !o.user.empty() ? o.user : img.config.user;
  c.hostname = network_mode.joins_container() ? joined_hostname(store, network_mode) : o.hostname;
  c.tty = o.tty;
  c.interactive = o.interactive;
  c.auto_remove = o.auto_remove;
  c.read_only_rootfs = o.read_only;
  for (const auto& v : o.volumes) c.mounts.push_back(parse_volume(store, v));
  c.network_mode = network_mode;
  c.network_aliases = o.network_aliases;
  for (const auto& p : o.ports)
    for (const auto& m : net::parse_port_mappings(p)) c.ports.push_back(m);
  if (o.publish_all)
    for (const auto& m : net::publish_all(img.config.exposed_ports)) c.ports.push_back(m);
  c.resources = o.resources;
  c.security = o.security;
  c.log_config = log_config;
  c.restart = restart;
  c.init = o.init;
  if (c.init) c.init_path = init_binary().string();
  c.userns = userns;
  c.healthcheck = healthcheck;
  security::resolve_capabilities(c.security);  // reject unknown capability names now
  // A seccomp profile file is read now, once, and kept in config.json: start
  // and exec use that copy, never a file someone may have changed since (or
  // one inside the container). A missing or malformed profile fails here.
  security::read_seccomp_profile(c.security);
  Store& s = const_cast<Store&>(store);
  s.create(c);
  // The bundle the container runs from (container/bundle.h): made once the
  // id and hostname are known; a spec that cannot be made is no container.
  // What the spec is made from was checked above, so `run` leaves making it
  // to the start (WriteBundle::kAtStart) instead of making it twice.
  if (when == WriteBundle::kNow) {
    try {
      write_bundle(store.dir(c.id),
                   spec_from_config(c, store.dir(c.id), StorePaths{store.root()}.rootfs_mount_point()),
                   !c.auto_remove);
    } catch (...) {
      store.unlist(c.id);
      store.remove(c.id);
      throw;
    }
  }
  emit_event(store.root(), "create", c);
  return c;
}

UniqueFd make_overlay_in_advance(const Store& store, const Config& cfg) {
  if (!cfg.userns.empty() && cfg.userns != "host") return UniqueFd();
  rootfs::Spec s;
  s.layer_dirs = cfg.layer_dirs;
  s.container_dir = store.dir(cfg.id);
  s.volatile_upper = cfg.auto_remove;
  s.mount_point = StorePaths{store.root()}.rootfs_mount_point();
  try {
    rootfs::prepare_dirs(s);
    return rootfs::make_detached_overlay(s);
  } catch (const std::exception&) {
    return UniqueFd();  // the init makes the dirs and mounts it, and reports what fails then
  }
}

int parse_signal(const std::string& in) {
  if (in.empty()) throw Error("invalid signal: empty");
  if (std::isdigit(static_cast<unsigned char>(in[0]))) {
    int n = std::atoi(in.c_str());
    if (n <= 0 || n >= NSIG) throw Error("invalid signal: " + in);
    return n;
  }
  std::string name = in;
  for (auto& ch : name) ch = static_cast<char>(std::toupper(ch));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int i = 1; i < NSIG; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev && name == abbrev) return i;
  }
  throw Error("invalid signal: " + in);
}

// A stop or kill by the user: its restart policy must not start it again
// (Docker's ExitOnNext). Set under the lock the supervisor decides a restart
// under; one waiting to restart is woken to end its loop.
static State end_restart_loop(const Store& store, const std::string& id) {
  State s;
  {
    auto lock = store.lock(id);
    s = observed_state(store, id);
    if (s.status != Status::kRunning) return s;
    s.stop_requested = true;
    State saved = store.state(id);
    saved.stop_requested = true;
    store.save_state(id, saved);
  }
  if (s.restarting && linux_proc::alive(s.supervisor_pid, s.supervisor_start))
    ::kill(s.supervisor_pid, SIGTERM);
  return s;
}

void kill_container(const Store& store, const std::string& id, int sig) {
  State s = observed_state(store, id);
  if (s.status != Status::kRunning || (!s.restarting && !linux_proc::alive(s.pid, s.pid_start)))
    throw Error("cannot kill container " + id.substr(0, 12) + ": container is not running", 1);
  s = end_restart_loop(store, id);
  if (s.restarting) return;  // no process to signal: its supervisor ends the loop
  explain::step("kill(2)",
                "kill -" + std::string(sigabbrev_np(sig) ? sigabbrev_np(sig) : std::to_string(sig).c_str()) +
                    " " + std::to_string(s.pid));
  // Before the signal: its "die" must not come first.
  emit_event(store.root(), "kill", store.config(id), {{"signal", std::to_string(sig)}});
  check_sys(::kill(s.pid, sig), "kill", std::to_string(s.pid));
  thaw_after_signal(store, id);  // a paused container acts on it once thawed
}

bool wait_not_running(const Store& store, const std::string& id, int timeout_ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    State s = observed_state(store, id);
    bool supervisor_alive = linux_proc::alive(s.supervisor_pid, s.supervisor_start);
    // The supervisor reports the exit first and tears down (mounts, cgroup,
    // network) after: wait for that too, so that a `start` or `rm` right
    // after never meets the old container's pieces.
    if (!supervisor_alive && (s.status != Status::kRunning || !linux_proc::alive(s.pid, s.pid_start)))
      return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StopResult stop_container(const Store& store, const std::string& id, int timeout_s) {
  StopResult r;
  State s = end_restart_loop(store, id);
  if (s.status != Status::kRunning) return r;
  r.was_running = true;
  if (!s.restarting && linux_proc::alive(s.pid, s.pid_start)) {
    explain::step("kill(2)", "kill -TERM " + std::to_string(s.pid) + "   # then wait up to " +
                                 std::to_string(timeout_s) + " s");
    emit_event(store.root(), "kill", store.config(id), {{"signal", std::to_string(SIGTERM)}});
    ::kill(s.pid, SIGTERM);
    thaw_after_signal(store, id);  // a paused container acts on it once thawed
  }
  if (!wait_not_running(store, id, timeout_s * 1000)) {
    s = observed_state(store, id);  // a restart that began before the stop has a new init
    if (linux_proc::alive(s.pid, s.pid_start)) {
      explain::step("kill(2)",
                    "kill -KILL " + std::to_string(s.pid) + "   # PID 1 ignored SIGTERM or took too long");
      emit_event(store.root(), "kill", store.config(id), {{"signal", std::to_string(SIGKILL)}});
      ::kill(s.pid, SIGKILL);
      thaw_after_signal(store, id);
    }
    wait_not_running(store, id, 10000);
  }
  emit_event(store.root(), "stop", store.config(id));
  return r;
}

void reclaim_leftovers(const Store& store, const std::string& id) {
  auto cg = cgroup::make_manager(id);
  if (cg->exists()) {
    explain::step("rmdir(2)", "rmdir " + cg->path() + "   # left by a supervisor that died");
    cg->destroy();  // kills what is left in it first
  }
  if (const auto mode = store.config(id).network_mode; mode.attaches_to_bridge())
    Networks(store).open(mode.network_name()).detach(id);
  release_connected_networks(store, id);
}

bool prepare_start(const Store& store, const std::string& id) {
  if (observed_state(store, id).status == Status::kRunning) return false;
  if (!wait_not_running(store, id, 10000))
    throw Error("container " + id.substr(0, 12) + " is still stopping");
  auto lock = store.lock(id);
  reclaim_leftovers(store, id);
  return true;
}

void remove_container(const Store& store, const std::string& id, bool force) {
  State s = observed_state(store, id);
  bool init_alive = s.pid > 0 && linux_proc::alive(s.pid, s.pid_start);
  if ((s.status == Status::kRunning || init_alive) && !force)
    throw Error("cannot remove container " + id.substr(0, 12) +
                    ": container is running: stop the container before removing or force remove",
                1);
  if (s.status == Status::kRunning) end_restart_loop(store, id);
  if (init_alive) {
    explain::step("kill(2)", "kill -KILL " + std::to_string(s.pid));
    ::kill(s.pid, SIGKILL);
  }
  // Give a live supervisor the chance to record the exit and clean up.
  wait_not_running(store, id, 10000);
  // A --rm container's own supervisor has removed it meanwhile: done.
  if (!std::filesystem::exists(store.dir(id) / "config.json")) return;
  auto lock = store.lock(id);
  reclaim_leftovers(store, id);
  // The shared minictr/ parents too, if this was the last container in them
  // (`run --rm` leaves them for the next start; see remove_unused_parents).
  cgroup::remove_unused_parents();
  explain::step("unlink/rmdir", "rm -rf " + store.dir(id).string() + "   # upper dir, logs, state");
  const Config cfg = store.config(id);
  store.remove(id);
  emit_event(store.root(), "destroy", cfg);
}

bool remove_unlisted(const Store& store, const std::string& id) {
  try {
    State s = store.state(id);
    if (linux_proc::alive(s.supervisor_pid, s.supervisor_start)) return false;
  } catch (const std::exception&) {
    // No readable state.json: nobody can be working on it any more.
  }
  auto lock = store.lock(id);
  auto cg = cgroup::make_manager(id);
  if (cg->exists()) cg->destroy();  // kills what is left in it first
  // Without config.json the network mode is unknown; detach is a no-op
  // for a container that holds no address lease.
  net::Network::detach_everywhere(store.root() / "network", id);
  store.remove(id);
  return true;
}

}  // namespace mctr::container
