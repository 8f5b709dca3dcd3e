#include "container/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "container/init.h"
#include "container/network_container.h"
#include "container/networks.h"
#include "container/userns_mode.h"
#include "linux/cgroup/devices.h"
#include "linux/security/seccomp_profile.h"
#include "linux/security/security.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::container {

namespace stdfs = std::filesystem;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// -u "uid:gid" says everything; any other form needs the container's
// /etc/passwd or /etc/group, read at start (kAnnotationUser).
oci::User user_of(const std::string& spec, bool& needs_lookup) {
  oci::User u;
  needs_lookup = false;
  if (spec.empty()) return u;
  auto colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  // check_spec() at create refused ids over kMaxId: stoul cannot overflow here.
  if (all_digits(user)) u.uid = static_cast<uint32_t>(std::stoul(user));
  if (all_digits(group)) u.gid = static_cast<uint32_t>(std::stoul(group));
  needs_lookup = !(all_digits(user) && all_digits(group));
  if (!all_digits(user)) u.username = user;
  return u;
}

std::vector<std::string> with_cap_prefix(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back("CAP_" + n);
  return out;
}

oci::Process process_of(const Config& cfg, oci::Spec& spec) {
  oci::Process p;
  p.terminal = cfg.tty;
  bool lookup = false;
  p.user = user_of(cfg.user, lookup);
  if (lookup) spec.annotations[kAnnotationUser] = cfg.user;
  p.args = cfg.args;
  if (cfg.init) p.args.insert(p.args.begin(), {kInitPath, "--"});
  p.env = process_env(cfg);
  p.cwd = cfg.working_dir.empty() ? "/" : cfg.working_dir;
  // Docker's rule for the five sets: bounding = effective = permitted, and
  // inheritable and ambient empty (CVE-2022-24769).
  auto kept = with_cap_prefix(security::resolve_capabilities(cfg.security));
  p.capabilities = oci::Capabilities{kept, kept, kept, {}, {}};
  p.no_new_privileges = cfg.security.no_new_privs && !cfg.security.privileged;
  return p;
}

// Docker's mounts for every container (moby oci/defaults.go), with the
// options minictr mounts them with (rootfs.cpp), then the volumes and the
// /etc files (bind mounts from the container's directory).
std::vector<oci::Mount> mounts_of(const Config& cfg, const stdfs::path& dir) {
  std::vector<oci::Mount> m = {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };
  if (cfg.security.privileged) m.back().options.pop_back();  // --privileged: a writable cgroup tree
  for (const auto& v : cfg.mounts) {
    oci::Mount b{v.destination, "bind", v.source, {"rbind"}};
    if (v.read_only) b.options.push_back("ro");
    m.push_back(b);
  }
  for (const char* f : {"hostname", "hosts", "resolv.conf"})
    m.push_back(
        {std::string("/etc/") + f, "bind", etc_file_path(dir, cfg, f).string(), {"rbind", "rprivate"}});
  if (cfg.init)  // a config from before InitPath: looked up now, as then
    m.push_back(
        {kInitPath, "bind", cfg.init_path.empty() ? init_binary().string() : cfg.init_path, {"rbind", "ro"}});
  return m;
}

// The device allow-list of the cgroup: deny all, then Docker's list.
std::vector<oci::DeviceRule> device_rules(bool privileged) {
  std::vector<oci::DeviceRule> out;
  if (!privileged) out.push_back({false, "", std::nullopt, std::nullopt, "rwm"});
  for (const auto& r : cgroup::device_allow_list(privileged)) {
    auto number = [](int64_t n) {
      return n == cgroup::kAnyNumber ? std::nullopt : std::optional<int64_t>(n);
    };
    out.push_back({true, std::string(1, r.type), number(r.major), number(r.minor), r.access});
  }
  return out;
}

oci::Resources resources_of(const Config& cfg) {
  const auto& r = cfg.resources;
  oci::Resources out;
  out.devices = device_rules(cfg.security.privileged);
  if (r.memory || r.memory_swap)
    out.memory = oci::Memory{r.memory, std::nullopt, r.memory_swap, std::nullopt};
  if (r.cpus || r.cpu_shares || r.cpuset_cpus || r.cpuset_mems) {
    oci::Cpu cpu;
    cpu.shares = r.cpu_shares;
    if (r.cpus && *r.cpus > 0) {  // --cpus 1.5: 150 ms of CPU time per 100 ms period
      cpu.period = 100000;
      cpu.quota = static_cast<int64_t>(*r.cpus * 100000);
    }
    cpu.cpus = r.cpuset_cpus.value_or("");
    cpu.mems = r.cpuset_mems.value_or("");
    out.cpu = cpu;
  }
  if (r.pids_limit) out.pids = oci::Pids{*r.pids_limit};
  return out;
}

std::string action_name(security::Action a) {
  switch (a) {
    case security::Action::Allow:
      return "SCMP_ACT_ALLOW";
    case security::Action::Errno:
      return "SCMP_ACT_ERRNO";
    case security::Action::KillThread:
      return "SCMP_ACT_KILL_THREAD";
    case security::Action::KillProcess:
      return "SCMP_ACT_KILL_PROCESS";
    case security::Action::Trap:
      return "SCMP_ACT_TRAP";
    case security::Action::Trace:
      return "SCMP_ACT_TRACE";
    case security::Action::Log:
      return "SCMP_ACT_LOG";
  }
  return "SCMP_ACT_ERRNO";
}

std::string op_name(security::Op op) {
  switch (op) {
    case security::Op::NotEqual:
      return "SCMP_CMP_NE";
    case security::Op::Less:
      return "SCMP_CMP_LT";
    case security::Op::LessEqual:
      return "SCMP_CMP_LE";
    case security::Op::Equal:
      return "SCMP_CMP_EQ";
    case security::Op::GreaterEqual:
      return "SCMP_CMP_GE";
    case security::Op::Greater:
      return "SCMP_CMP_GT";
    case security::Op::MaskedEqual:
      return "SCMP_CMP_MASKED_EQ";
  }
  return "SCMP_CMP_EQ";
}

// libseccomp's "x86_64" -> the spec's "SCMP_ARCH_X86_64".
std::string arch_name(std::string libseccomp) {
  for (auto& c : libseccomp) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "SCMP_ARCH_" + libseccomp;
}

// The profile's rules as they apply to this container (its kept
// capabilities, this machine's architecture and kernel), as dockerd
// resolves Docker's includes/excludes before it writes the spec.
std::optional<oci::Seccomp> seccomp_of(const security::Options& o) {
  if (o.privileged || o.seccomp == "unconfined") return std::nullopt;
  security::Profile p = o.seccomp.empty() ? security::docker_default_profile()
                                          : security::parse_profile_json(o.seccomp_profile_json);
  oci::Seccomp s;
  s.default_action = action_name(p.default_action);
  if (p.default_action == security::Action::Errno)
    s.default_errno_ret = static_cast<uint32_t>(p.default_errno);
  for (const auto& a : p.architectures) s.architectures.push_back(arch_name(a));
  for (const auto& r : security::applicable_rules(p, security::resolve_capabilities(o))) {
    oci::SeccompSyscall sc;
    sc.names = r.names;
    sc.action = action_name(r.action);
    if (r.action == security::Action::Errno)
      sc.errno_ret = static_cast<uint32_t>(r.errno_ret >= 0 ? r.errno_ret : p.default_errno);
    for (const auto& a : r.args) sc.args.push_back({a.index, a.value, a.value_two, op_name(a.op)});
    s.syscalls.push_back(std::move(sc));
  }
  return s;
}

oci::Linux linux_of(const Config& cfg) {
  oci::Linux l;
  // The cgroup namespace too: the init unshares it itself once in its cgroup.
  for (const char* ns : {"pid", "ipc", "uts", "mount", "cgroup"}) l.namespaces.push_back({ns, ""});
  // container:ID joins that one's namespace: the supervisor enters it before the clone.
  if (cfg.network_mode.kind != NetworkMode::Kind::kHost && !cfg.network_mode.joins_container())
    l.namespaces.push_back({"network", ""});
  // --userns: one range for uids and gids (docs/01-namespaces.md).
  if (auto r = userns_ranges(cfg.userns)) {
    l.namespaces.push_back({"user", ""});
    l.uid_mappings.push_back({r->uids.container_id, r->uids.host_id, r->uids.size});
    l.gid_mappings.push_back({r->gids.container_id, r->gids.host_id, r->gids.size});
  }
  l.resources = resources_of(cfg);
  l.cgroups_path = "/minictr/" + cfg.id;
  l.seccomp = seccomp_of(cfg.security);
  l.rootfs_propagation = "rprivate";
  if (!cfg.security.privileged) {
    l.masked_paths = security::masked_paths();
    l.readonly_paths = security::readonly_paths();
  }
  return l;
}

std::string overlay_lower_dirs(const Config& cfg) {
  std::string out;
  for (auto it = cfg.layer_dirs.rbegin(); it != cfg.layer_dirs.rend(); ++it)
    out += (out.empty() ? "" : ":") + *it;
  return out;
}

}  // namespace

oci::Spec spec_from_config(const Config& cfg, const stdfs::path& container_dir, const stdfs::path& rootfs) {
  oci::Spec s;
  s.process = process_of(cfg, s);
  s.root = oci::Root{rootfs.string(), cfg.read_only_rootfs};
  s.hostname = cfg.hostname;
  s.mounts = mounts_of(cfg, container_dir);
  s.linux_ = linux_of(cfg);
  s.annotations[kAnnotationName] = cfg.name;
  s.annotations[kAnnotationImage] = cfg.image;
  s.annotations[kAnnotationLowerDirs] = overlay_lower_dirs(cfg);
  s.annotations[kAnnotationUpperDir] = (container_dir / "upper").string();
  s.annotations[kAnnotationNetwork] = cfg.network_mode.str();
  return s;
}

stdfs::path bundle_dir(const stdfs::path& container_dir) { return container_dir / "bundle"; }

// Where the user's minictr is: /proc/self/exe, or, once the CLI has
// re-executed itself from a detached read-only mount of its binary
// (linux/security/self_exe.h; `exec` and `compose` do) that names no host
// path, argv[0] (kept by that exec) looked up as the shell did. `run` and
// `create` look it up (Config::init_path), so the lookup is the CLI's.
static std::vector<stdfs::path> own_directories() {
  std::vector<stdfs::path> dirs;
  std::error_code ec;
  if (auto self = stdfs::read_symlink("/proc/self/exe", ec); !ec) dirs.push_back(self.parent_path());
  std::string argv0;
  if (auto cmdline = fs::read_file_if_exists("/proc/self/cmdline"))
    argv0 = cmdline->substr(0, cmdline->find('\0'));
  if (argv0.find('/') != std::string::npos) {
    dirs.push_back(stdfs::absolute(argv0, ec).parent_path());
  } else if (!argv0.empty()) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "";
    for (size_t start = 0; start <= p.size();) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      stdfs::path dir = p.substr(start, end - start);
      if (stdfs::exists(dir / argv0, ec)) {
        dirs.push_back(dir);
        break;
      }
      start = end + 1;
    }
  }
  return dirs;
}

stdfs::path init_binary() {
  if (const char* env = std::getenv("MINICTR_INIT"); env && *env) {
    if (!stdfs::is_regular_file(env))
      throw Error(std::string("--init: MINICTR_INIT=") + env + " is not a file");
    return env;
  }
  const auto dirs = own_directories();
  for (const auto& dir : dirs)
    if (std::error_code ec; stdfs::is_regular_file(dir / "minictr-init", ec)) return dir / "minictr-init";
  throw Error("--init: minictr-init not found next to minictr" +
              (dirs.empty() ? std::string() : " (" + dirs.back().string() + ")") +
              ": build the minictr-init target, or set MINICTR_INIT");
}

void write_bundle(const stdfs::path& container_dir, const oci::Spec& spec, bool durable) {
  auto dir = bundle_dir(container_dir);
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) throw_sys("mkdir", dir);
  fs::write_file_atomic(dir / "config.json", oci::to_json(spec).dump(2) + "\n", 0600, durable);
}

oci::Spec read_bundle(const stdfs::path& container_dir) {
  return oci::read_bundle_spec(bundle_dir(container_dir));
}

static bool has_bundle(const stdfs::path& container_dir) {
  return ::access((bundle_dir(container_dir) / "config.json").c_str(), F_OK) == 0;
}

oci::Spec bundle_for_start(const Config& cfg, const stdfs::path& container_dir, const stdfs::path& rootfs,
                           bool* made) {
  *made = !has_bundle(container_dir);
  if (*made) return spec_from_config(cfg, container_dir, rootfs);
  oci::Spec s = read_bundle(container_dir);
  // A bundle written before the network mode was kept in it.
  if (s.annotations.emplace(kAnnotationNetwork, cfg.network_mode.str()).second)
    write_bundle(container_dir, s, !cfg.auto_remove);
  if (s.linux_) {
    oci::Resources now = resources_of(cfg);  // `update` changes memory, cpu and pids, never devices
    if (s.linux_->resources) now.devices = s.linux_->resources->devices;
    if (s.linux_->resources != now) {
      s.linux_->resources = now;
      write_bundle(container_dir, s, !cfg.auto_remove);
    }
  }
  return s;
}

}  // namespace mctr::container
