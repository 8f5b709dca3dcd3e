#include "container/from_bundle.h"

#include <sys/resource.h>

#include <algorithm>

#include "container/bundle.h"
#include "container/env.h"
#include "linux/security/security.h"
#include "util/error.h"

namespace mctr::container {

namespace {

[[noreturn]] void unsupported(const std::string& field, const std::string& what) {
  throw Error("config.json: " + field + ": " + what + " is not supported by minictr yet");
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The mounts the init makes itself, with fixed options (rootfs.cpp,
// cgroup_mount.cpp): the bundle may list them, not change them.
bool standard_mount(const oci::Mount& m) {
  static const std::pair<const char*, const char*> kStandard[] = {
      {"/proc", "proc"},         {"/dev", "tmpfs"}, {"/dev/pts", "devpts"},      {"/dev/shm", "tmpfs"},
      {"/dev/mqueue", "mqueue"}, {"/sys", "sysfs"}, {"/sys/fs/cgroup", "cgroup"}};
  for (auto [dest, type] : kStandard)
    if (m.destination == dest && m.type == type) return true;
  return false;
}

bool is_bind(const oci::Mount& m) {
  return m.type == "bind" || has(m.options, "bind") || has(m.options, "rbind");
}

constexpr std::pair<const char*, int> kRlimits[] = {{"RLIMIT_AS", RLIMIT_AS},
                                                    {"RLIMIT_CORE", RLIMIT_CORE},
                                                    {"RLIMIT_CPU", RLIMIT_CPU},
                                                    {"RLIMIT_DATA", RLIMIT_DATA},
                                                    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                                                    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
                                                    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
                                                    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
                                                    {"RLIMIT_NICE", RLIMIT_NICE},
                                                    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                                                    {"RLIMIT_NPROC", RLIMIT_NPROC},
                                                    {"RLIMIT_RSS", RLIMIT_RSS},
                                                    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
                                                    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
                                                    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                                                    {"RLIMIT_STACK", RLIMIT_STACK}};

}  // namespace

void check_supported(const oci::Spec& spec) {
  if (!spec.process) throw Error("config.json: process: required to start a container");
  if (!spec.root) throw Error("config.json: root: required to start a container");
  if (!spec.linux_) throw Error("config.json: linux: required to start a container");
  const auto& l = *spec.linux_;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const auto& ns = l.namespaces[i];
    std::string at = "linux.namespaces[" + std::to_string(i) + "]";
    if (!ns.path.empty()) unsupported(at + ".path", "joining an existing namespace");
    if (ns.type == "time") unsupported(at + ".type", "a time namespace");
  }
  // The init always makes these (clone flags, and the cgroup namespace once in its cgroup).
  for (const char* ns : {"pid", "mount", "ipc", "uts", "cgroup"})
    if (!l.find_namespace(ns))
      unsupported("linux.namespaces", std::string("sharing the runtime's ") + ns + " namespace");
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    if (!standard_mount(spec.mounts[i]) && !is_bind(spec.mounts[i]))
      unsupported("mounts[" + std::to_string(i) + "]",
                  "a mount of type \"" + spec.mounts[i].type + "\" at " + spec.mounts[i].destination);
  bool docker_lists =
      l.masked_paths == security::masked_paths() && l.readonly_paths == security::readonly_paths();
  if (!docker_lists && !(l.masked_paths.empty() && l.readonly_paths.empty()))
    unsupported("linux.maskedPaths", "a list other than Docker's");
  if (!l.sysctl.empty()) unsupported("linux.sysctl", "setting sysctls");
  if (l.find_namespace("user")) {
    // The init becomes the namespace's root: that id must be mapped.
    auto maps = user_namespace_maps(spec);
    if (!maps || maps->uids.empty() || maps->gids.empty())
      throw Error("config.json: linux.uidMappings: a user namespace needs uid and gid mappings");
    for (const auto* list : {&maps->uids, &maps->gids})
      if (std::none_of(list->begin(), list->end(), [](const auto& m) { return m.container_id == 0; }))
        throw Error("config.json: linux.uidMappings/gidMappings: container id 0 (root) must be mapped");
  } else if (!l.uid_mappings.empty() || !l.gid_mappings.empty()) {
    throw Error("config.json: linux.uidMappings: id mappings need a user namespace");
  }
  if (spec.hooks) unsupported("hooks", "running hooks");
  device_allow_rules(spec);  // throws on a deny rule it cannot express
  if (!l.rootfs_propagation.empty() && l.rootfs_propagation != "rprivate" &&
      l.rootfs_propagation != "private")
    unsupported("linux.rootfsPropagation", "\"" + l.rootfs_propagation + "\"");
}

std::optional<IdMaps> user_namespace_maps(const oci::Spec& spec) {
  if (!spec.linux_ || !spec.linux_->find_namespace("user")) return std::nullopt;
  IdMaps out;
  for (const auto& m : spec.linux_->uid_mappings) out.uids.push_back({m.container_id, m.host_id, m.size});
  for (const auto& m : spec.linux_->gid_mappings) out.gids.push_back({m.container_id, m.host_id, m.size});
  return out;
}

bool has_new_network_namespace(const oci::Spec& spec) {
  return spec.linux_ && spec.linux_->find_namespace("network");
}

std::vector<rootfs::BindMount> bind_mounts(const oci::Spec& spec) {
  std::vector<rootfs::BindMount> out;
  for (const auto& m : spec.mounts)
    if (is_bind(m) && !standard_mount(m)) out.push_back({m.source, m.destination, has(m.options, "ro")});
  return out;
}

bool cgroups_read_only(const oci::Spec& spec) {
  for (const auto& m : spec.mounts)
    if (m.destination == "/sys/fs/cgroup") return has(m.options, "ro");
  return true;  // not listed: as Docker, read-only
}

bool masks_paths(const oci::Spec& spec) {
  return spec.linux_ && !(spec.linux_->masked_paths.empty() && spec.linux_->readonly_paths.empty());
}

cgroup::Resources cgroup_resources(const oci::Spec& spec) {
  cgroup::Resources r;
  if (!spec.linux_ || !spec.linux_->resources) return r;
  const auto& in = *spec.linux_->resources;
  if (in.memory) {
    r.memory = in.memory->limit;
    r.memory_swap = in.memory->swap;
  }
  if (in.cpu) {
    r.cpu_shares = in.cpu->shares;
    if (in.cpu->quota && *in.cpu->quota > 0)
      r.cpus = static_cast<double>(*in.cpu->quota) / static_cast<double>(in.cpu->period.value_or(100000));
    if (!in.cpu->cpus.empty()) r.cpuset_cpus = in.cpu->cpus;
    if (!in.cpu->mems.empty()) r.cpuset_mems = in.cpu->mems;
  }
  if (in.pids) r.pids_limit = in.pids->limit;
  return r;
}

std::vector<cgroup::DeviceRule> device_allow_rules(const oci::Spec& spec) {
  std::vector<cgroup::DeviceRule> out;
  if (!spec.linux_ || !spec.linux_->resources) return out;
  const auto& devices = spec.linux_->resources->devices;
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    if (!d.allow) {
      // Only a leading deny-all, the cgroup's own starting point (v1 "a", v2's BPF default).
      if (i == 0 && (d.type.empty() || d.type == "a") && !d.major && !d.minor) continue;
      unsupported("linux.resources.devices[" + std::to_string(i) + "]", "a deny rule after the first");
    }
    out.push_back({d.type.empty() ? 'a' : d.type[0], d.major.value_or(cgroup::kAnyNumber),
                   d.minor.value_or(cgroup::kAnyNumber), d.access.empty() ? "rwm" : d.access});
  }
  return out;
}

std::vector<std::string> kept_capabilities(const oci::Process& p) {
  std::vector<std::string> out;
  if (!p.capabilities) return out;
  for (const auto& c : p.capabilities->bounding) out.push_back(c.substr(4));  // the spec checked "CAP_"
  return out;
}

user::Identity resolve_identity(const oci::Spec& spec) {
  auto text = spec.annotations.find(kAnnotationUser);
  if (text != spec.annotations.end()) return user::resolve(text->second);
  return identity_of(spec.process->user);
}

user::Identity identity_of(const oci::User& u) {
  user::Identity id;
  id.uid = u.uid;
  id.gid = u.gid;
  id.groups.assign(u.additional_gids.begin(), u.additional_gids.end());
  // root needs no lookup for its HOME (as `-u ""` never did).
  if (u.uid == 0) {
    id.home = "/root";
    return id;
  }
  try {
    id.home = user::resolve(std::to_string(u.uid)).home;
  } catch (const Error&) {
    id.home = "/";  // no passwd entry: runc's HOME too
  }
  return id;
}

oci::Process exec_process(const oci::Spec& spec, const ExecOptions& o) {
  if (!spec.process) throw Error("config.json: process: required to exec in a container");
  oci::Process p = *spec.process;
  p.args = o.cmd;
  p.terminal = o.tty;
  // process_env put TERM=xterm last for the container's -t when its env had
  // no TERM: that one follows exec's own -t instead. (A TERM=xterm the
  // container's own env gives last, with -t, cannot be told from it.)
  const auto terms = std::count_if(p.env.begin(), p.env.end(),
                                   [](const std::string& e) { return e.rfind("TERM=", 0) == 0; });
  if (spec.process->terminal && terms == 1 && p.env.back() == "TERM=xterm") p.env.pop_back();
  for (const auto& e : o.env) set_env(p.env, e);
  if (o.tty && !has_env(p.env, "TERM")) p.env.push_back("TERM=xterm");
  if (!o.workdir.empty()) p.cwd = o.workdir;
  if (o.privileged) {
    std::vector<std::string> all;
    for (const auto& c : security::all_capabilities()) all.push_back("CAP_" + c);
    p.capabilities = oci::Capabilities{all, all, all, {}, {}};
    p.no_new_privileges = false;
  }
  return p;
}

user::Identity exec_identity(const oci::Spec& spec, const std::string& user) {
  return user.empty() ? resolve_identity(spec) : user::resolve(user);
}

std::string seccomp_json(const oci::Seccomp& s) { return oci::to_json(s).dump(); }

security::Profile seccomp_profile(const oci::Seccomp& s) {
  return security::parse_profile_json(seccomp_json(s));
}

std::vector<sock_filter> seccomp_program(const oci::Spec& spec, const std::filesystem::path& cache_dir) {
  if (!spec.linux_ || !spec.linux_->seccomp) return {};
  const oci::Seccomp& s = *spec.linux_->seccomp;
  const std::vector<std::string> kept =
      spec.process ? kept_capabilities(*spec.process) : std::vector<std::string>{};
  // The program depends on the text, libseccomp, and the kept capabilities
  // (a profile's "includes" may name some; the bundle's rules, already
  // resolved by spec_from_config, do not).
  std::string key = security::seccomp_compiler_fingerprint() + "caps";
  for (const auto& c : kept) key += " " + c;
  const std::string json = seccomp_json(s);
  key += "\n" + json;
  return security::compile_seccomp_cached(
      key, cache_dir, [&] { return security::compile_profile(security::parse_profile_json(json), kept); });
}

std::string cgroup_leaf(const oci::Spec& spec) {
  if (!spec.linux_) return "";
  const std::string& path = spec.linux_->cgroups_path;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

NetworkMode network_mode(const oci::Spec& spec) {
  auto it = spec.annotations.find(kAnnotationNetwork);
  if (it != spec.annotations.end()) return NetworkMode::parse(it->second);
  return NetworkMode{has_new_network_namespace(spec) ? NetworkMode::Kind::kNone : NetworkMode::Kind::kHost,
                     ""};
}

bool init_writes_etc_files(const oci::Spec& spec) { return !network_mode(spec).attaches_to_bridge(); }

EtcFiles etc_files_of(const oci::Spec& spec) {
  EtcFiles f;
  f.hostname = spec.hostname;
  if (auto it = spec.annotations.find(kAnnotationName); it != spec.annotations.end()) f.name = it->second;
  f.network = network_mode(spec);
  if (auto maps = user_namespace_maps(spec))
    f.owner.emplace(security::host_id_of(0, maps->uids), security::host_id_of(0, maps->gids));
  return f;
}

void apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    auto it =
        std::find_if(std::begin(kRlimits), std::end(kRlimits), [&](auto& k) { return r.type == k.first; });
    if (it == std::end(kRlimits)) throw Error("config.json: process.rlimits: unknown rlimit " + r.type);
    rlimit lim{r.soft, r.hard};
    check_sys(::setrlimit(static_cast<__rlimit_resource>(it->second), &lim), "setrlimit", r.type);
  }
}

}  // namespace mctr::container
