#include "runc/create.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/from_bundle.h"
#include "container/protocol.h"
#include "linux/cgroup/devices.h"
#include "linux/cgroup/manager.h"
#include "linux/namespaces.h"
#include "linux/security/userns.h"
#include "runc/cgroup_path.h"
#include "runc/console.h"
#include "runc/extras.h"
#include "runc/hooks.h"
#include "runc/init.h"
#include "runc/log.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/scope_guard.h"

namespace mctr::runc {

namespace protocol = container::protocol;

namespace {

struct NamespaceKind {
  const char* type;  // the spec's name
  int flag;
};
constexpr NamespaceKind kNamespaces[] = {
    {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},      {"ipc", CLONE_NEWIPC},
    {"uts", CLONE_NEWUTS}, {"user", CLONE_NEWUSER},   {"cgroup", CLONE_NEWCGROUP}, {"time", 0}};

int flag_of(const std::string& type) {
  for (const auto& k : kNamespaces)
    if (type == k.type) return k.flag;
  throw Error("config.json: linux.namespaces: unknown namespace \"" + type + "\"");
}

// What runc refuses too, or what minictr does not do (said so, by field).
void check_spec(const oci::Spec& spec) {
  if (!spec.process) throw Error("config.json: process: required to start a container");
  if (!spec.root) throw Error("config.json: root: required to start a container");
  if (!spec.linux_) throw Error("config.json: linux: required on Linux");
  const oci::Linux& l = *spec.linux_;
  if (const auto* t = l.find_namespace("time"))
    throw Error("config.json: linux.namespaces: a time namespace is not supported by minictr" +
                std::string(t->path.empty() ? "" : " (" + t->path + ")"));
  const oci::Namespace* user = l.find_namespace("user");
  if (user && !user->path.empty())
    throw Error("config.json: linux.namespaces: joining a user namespace is not supported");
  if ((!l.uid_mappings.empty() || !l.gid_mappings.empty()) && !user)
    throw Error("config.json: linux.uidMappings: id mappings need a user namespace");
  if (!spec.hostname.empty() && !l.find_namespace("uts"))
    throw Error("config.json: hostname: setting it needs a uts namespace of the container's");
  if (spec.process->terminal && spec.process->args.empty())
    throw Error("config.json: process.args: required");
}

std::vector<security::IdMapping> maps_of(const std::vector<oci::IdMapping>& in) {
  std::vector<security::IdMapping> out;
  for (const auto& m : in) out.push_back({m.container_id, m.host_id, m.size});
  return out;
}

// The host id that `id` in the container maps to (itself when unmapped).
uint32_t host_id_of(uint32_t id, const std::vector<oci::IdMapping>& maps) {
  for (const auto& m : maps)
    if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
  return id;
}

// The device allow-list on the group (v1 devices.allow/deny, v2 a BPF
// program): the nodes every container has (/dev/null, zero, full, random,
// urandom, tty, console, ptmx, pts; mknod of any), as runc always allows,
// then the bundle's own allow rules.
void apply_devices(cgroup::Manager& cg, const oci::Spec& spec, const Extras& extras) {
  std::vector<cgroup::DeviceRule> rules = cgroup::device_allow_list(false);
  for (const auto& r : container::device_allow_rules(spec)) rules.push_back(r);
  for (const auto& r : device_node_rules(extras)) rules.push_back(r);
  cg.allow_devices(rules);
}

std::string absolute(const std::string& base, const std::string& p) {
  return std::filesystem::weakly_canonical(std::filesystem::path(base) / p).string();
}

// apparmor and selinux are not in oci::Spec: this host has neither, and
// runc too runs a container without them where the kernel has none. Said
// in the log, so a caller can see it.
void warn_ignored_fields(const std::string& bundle) {
  try {
    auto j = nlohmann::json::parse(fs::read_file(std::filesystem::path(bundle) / "config.json"));
    const auto& p = j.value("process", nlohmann::json::object());
    const auto& l = j.value("linux", nlohmann::json::object());
    for (const char* f : {"apparmorProfile", "selinuxLabel"})
      if (p.contains(f) && !p[f].get<std::string>().empty())
        log_warning(std::string("process.") + f + " ignored: this host has no apparmor or selinux");
    if (l.contains("mountLabel") && !l["mountLabel"].get<std::string>().empty())
      log_warning("linux.mountLabel ignored: this host has no selinux");
  } catch (const std::exception&) {
    // read_bundle_spec has accepted the file; a field of another type is not ours to judge here.
  }
}

// The init process, undone on failure: killed and reaped.
struct InitGuard {
  pid_t pid = 0;
  ~InitGuard() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

}  // namespace

void write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return;
  std::filesystem::path p = std::filesystem::absolute(path);
  fs::write_file_atomic(p, std::to_string(pid), 0644, false);
}

pid_t create_container(const Store& store, const CreateOptions& o) {
  const std::string bundle = std::filesystem::canonical(o.bundle).string();
  oci::Spec spec = oci::read_bundle_spec(bundle);
  check_spec(spec);
  warn_ignored_fields(bundle);
  const oci::Linux& l = *spec.linux_;
  if (spec.process->terminal && o.console_socket.empty())
    throw Error("cannot allocate tty if runc will detach without setting console socket");
  if (!spec.process->terminal && !o.console_socket.empty())
    throw Error("cannot use console socket if runc will not detach or allocate tty");

  ContainerState st;
  st.id = o.id;
  st.bundle = bundle;
  st.rootfs = absolute(bundle, spec.root->path);
  if (!std::filesystem::is_directory(st.rootfs)) throw Error("rootfs (" + st.rootfs + ") does not exist");
  st.created = rfc3339_now(true);
  st.owner = ::geteuid();
  st.spec = spec;

  store.make_dir(o.id);
  ScopeGuard remove_dir([&] { store.remove(o.id); });

  // The exec fifo: the init blocks opening it until `start` opens the other end.
  const auto fifo = store.fifo(o.id);
  check_sys(::mkfifo(fifo.c_str(), 0622), "mkfifo", fifo);
  UniqueFd fifo_fd(check_sys(::open(fifo.c_str(), O_PATH | O_CLOEXEC), "open", fifo));

  // The cgroup, with its limits, before the init exists.
  st.cgroup_path = resolve_cgroups_path(l.cgroups_path, o.id, o.systemd_cgroup);
  auto cg = cgroup::make_manager_at({st.cgroup_path});
  const bool made_group = !cg->exists();
  if (made_group) cg->create();
  ScopeGuard remove_group([&] {
    if (made_group) cg->destroy();
  });
  const Extras extras = read_extras(bundle);
  cg->apply(container::cgroup_resources(spec));
  apply_extra_resources(st.cgroup_path, spec, extras);
  apply_devices(*cg, spec, extras);

  UniqueFd console;
  if (spec.process->terminal) console = connect_console_socket(o.console_socket);

  // Namespaces: new ones by clone flag; those with a path are joined by the
  // init, except a PID namespace, which only applies to children: we join
  // it here so that the init is born in it.
  int flags = 0;
  InitArgs args;
  args.spec = &st.spec;
  args.extras = &extras;
  args.rootfs = st.rootfs;
  args.fifo_fd = fifo_fd.get();
  args.console_fd = console.get();
  args.no_pivot = o.no_pivot;
  if (!l.find_namespace("mount")) {
    args.mount_ns = MountNamespace::kHosts;
    log_warning(
        "linux.namespaces has no mount namespace: the container's mounts are made in the host's, "
        "under " +
        st.rootfs + ", until delete");
  }
  args.cgroup_group = st.cgroup_path;
  for (const auto& ns : l.namespaces) {
    int flag = flag_of(ns.type);
    if (ns.path.empty()) {
      if (flag == CLONE_NEWCGROUP)
        args.new_cgroup_ns = true;  // unshared in the cgroup (see init)
      else
        flags |= flag;
      continue;
    }
    UniqueFd fd(check_sys(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC), "open", ns.path));
    if (flag == CLONE_NEWPID)
      check_sys(::setns(fd.get(), CLONE_NEWPID), "setns", ns.path);
    else
      args.join.emplace_back(flag, std::move(fd));
  }
  args.new_net_ns = (flags & CLONE_NEWNET) != 0;
  args.new_user_ns = (flags & CLONE_NEWUSER) != 0;

  linux_ns::SyncChannel sync;
  // Undone after the init is killed (guards run in reverse order).
  ScopeGuard unmount_on_host([&] {
    if (args.mount_ns != MountNamespace::kHosts) return;
    try {
      unmount_host_mounts(st.rootfs);
    } catch (const Error& e) {
      log_warning(e.what());
    }
  });
  InitGuard init;
  init.pid = linux_ns::clone_process(flags);
  if (init.pid == 0) {
    sync.become_child();
    args.sync_fd = sync.child_fd();
    run_init(args);
  }
  sync.become_parent();
  args.join.clear();
  cg->add_pid(init.pid);
  if (args.new_user_ns) {
    security::write_id_maps(init.pid, maps_of(l.uid_mappings), maps_of(l.gid_mappings));
    // The init opens the fifo as the namespace's root: make it that user's.
    check_sys(::chown(fifo.c_str(), host_id_of(0, l.uid_mappings), host_id_of(0, l.gid_mappings)), "chown",
              fifo);
  }
  st.init_pid = init.pid;
  st.init_start_time = process_start_time(init.pid);
  protocol::send(sync.parent_fd(), {protocol::Kind::Go, 0, ""});

  for (;;) {
    auto m = protocol::recv(sync.parent_fd());
    if (!m) {
      int status = 0;
      ::waitpid(init.pid, &status, 0);
      init.pid = 0;
      throw Error("container init exited before it was ready");
    }
    if (m->kind == protocol::Kind::SetupFailed) throw Error(m->text);
    if (m->kind == protocol::Kind::RunHooks) {
      const std::string state = state_json(st, Status::kCreating).dump();
      if (spec.hooks) {
        run_hooks(spec.hooks->prestart, state, "prestart");
        run_hooks(spec.hooks->create_runtime, state, "createRuntime");
      }
      protocol::send(sync.parent_fd(), {protocol::Kind::HooksDone, 0, state});
      continue;
    }
    if (m->kind == protocol::Kind::Ready) break;
    throw Error("container init sent \"" + protocol::describe(*m) + "\" out of turn");
  }
  store.save(st);
  write_pid_file(o.pid_file, init.pid);
  pid_t pid = init.pid;
  init.pid = 0;
  remove_group.dismiss();
  remove_dir.dismiss();
  unmount_on_host.dismiss();
  return pid;
}

}  // namespace mctr::runc
