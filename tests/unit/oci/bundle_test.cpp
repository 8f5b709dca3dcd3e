// spec_from_config: the bundle's config.json says what the container runs
// with, field by field, from the private Config (image config + flags).
#include "container/bundle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "container/etc_files.h"
#include "container/from_bundle.h"
#include "container/init.h"
#include "expect_error.h"
#include "linux/security/seccomp_profile.h"
#include "linux/security/security.h"
#include "util/fs.h"

namespace c = mctr::container;
namespace oci = mctr::oci;

namespace {

c::Config base_config() {
  c::Config cfg;
  cfg.id = "0123456789abcdef0123456789abcdef";
  cfg.name = "web";
  cfg.image = "busybox";
  cfg.layer_dirs = {"/store/layers/a", "/store/layers/b"};
  cfg.args = {"/bin/sh", "-c", "echo hi"};
  cfg.env = {"PATH=/bin:/usr/bin", "A=1"};
  cfg.working_dir = "/srv";
  cfg.hostname = "0123456789ab";
  return cfg;
}

oci::Spec spec_of(const c::Config& cfg) { return c::spec_from_config(cfg, "/state/ctr", "/state/rootfs"); }

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const oci::Mount* mount_at(const oci::Spec& s, const std::string& dest) {
  for (const auto& m : s.mounts)
    if (m.destination == dest) return &m;
  return nullptr;
}

bool same_program(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(sock_filter)) == 0;
}

// The program the init loads, from the bundle's linux.seccomp, and the one
// compiled straight from the private config's profile.
std::vector<sock_filter> program_from_bundle(const oci::Spec& s) {
  if (!s.linux_->seccomp) return {};
  return mctr::security::compile_profile(c::seccomp_profile(*s.linux_->seccomp),
                                         c::kept_capabilities(*s.process));
}

// A directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("minictr-bundle-test-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

size_t files_in(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

}  // namespace

TEST(SpecFromConfig, Process) {
  c::Config cfg = base_config();
  cfg.tty = true;
  oci::Spec s = spec_of(cfg);
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->args, cfg.args);
  EXPECT_EQ(s.process->cwd, "/srv");
  EXPECT_TRUE(s.process->terminal);
  // PATH from the image wins; HOSTNAME and TERM added as Docker does; HOME
  // only at start, from the user's passwd entry.
  EXPECT_EQ(s.process->env,
            (std::vector<std::string>{"HOSTNAME=0123456789ab", "PATH=/bin:/usr/bin", "A=1", "TERM=xterm"}));
  cfg.tty = false;
  cfg.env = {"A=1"};
  s = spec_of(cfg);
  EXPECT_EQ(s.process->env[0].rfind("PATH=/usr/local/sbin:", 0), 0u);
  EXPECT_FALSE(has(s.process->env, "TERM=xterm"));
  EXPECT_TRUE(s.process->no_new_privileges);
  EXPECT_EQ(s.hostname, "0123456789ab");
  EXPECT_EQ(s.annotations.at(c::kAnnotationName), "web");
}

TEST(SpecFromConfig, User) {
  c::Config cfg = base_config();
  oci::Spec s = spec_of(cfg);
  EXPECT_EQ(s.process->user.uid, 0u);
  EXPECT_EQ(s.process->user.gid, 0u);
  EXPECT_FALSE(s.annotations.count(c::kAnnotationUser));
  cfg.user = "1000:50";
  s = spec_of(cfg);
  EXPECT_EQ(s.process->user.uid, 1000u);
  EXPECT_EQ(s.process->user.gid, 50u);
  EXPECT_FALSE(s.annotations.count(c::kAnnotationUser));
  // A name, or a uid whose group comes from /etc/passwd: looked up at start.
  cfg.user = "nobody";
  s = spec_of(cfg);
  EXPECT_EQ(s.process->user.username, "nobody");
  EXPECT_EQ(s.annotations.at(c::kAnnotationUser), "nobody");
  cfg.user = "1000";
  s = spec_of(cfg);
  EXPECT_EQ(s.process->user.uid, 1000u);
  EXPECT_EQ(s.annotations.at(c::kAnnotationUser), "1000");
}

TEST(SpecFromConfig, Capabilities) {
  c::Config cfg = base_config();
  oci::Spec s = spec_of(cfg);
  const auto& caps = *s.process->capabilities;
  EXPECT_EQ(caps.bounding.size(), mctr::security::default_capabilities().size());
  EXPECT_TRUE(has(caps.bounding, "CAP_CHOWN"));
  EXPECT_TRUE(has(caps.bounding, "CAP_AUDIT_WRITE"));
  EXPECT_FALSE(has(caps.bounding, "CAP_SYS_ADMIN"));
  EXPECT_EQ(caps.effective, caps.bounding);
  EXPECT_EQ(caps.permitted, caps.bounding);
  EXPECT_TRUE(caps.inheritable.empty());
  EXPECT_TRUE(caps.ambient.empty());
  cfg.security.cap_add = {"net_admin"};
  cfg.security.cap_drop = {"CHOWN"};
  s = spec_of(cfg);
  EXPECT_TRUE(has(s.process->capabilities->bounding, "CAP_NET_ADMIN"));
  EXPECT_FALSE(has(s.process->capabilities->bounding, "CAP_CHOWN"));
  cfg.security.no_new_privs = false;
  EXPECT_FALSE(spec_of(cfg).process->no_new_privileges);
}

TEST(SpecFromConfig, Resources) {
  c::Config cfg = base_config();
  oci::Spec s = spec_of(cfg);
  ASSERT_TRUE(s.linux_->resources);
  EXPECT_FALSE(s.linux_->resources->memory);
  EXPECT_FALSE(s.linux_->resources->cpu);
  EXPECT_FALSE(s.linux_->resources->pids);
  cfg.resources.memory = 256 << 20;
  cfg.resources.memory_swap = 512 << 20;
  cfg.resources.cpus = 1.5;
  cfg.resources.cpu_shares = 512;
  cfg.resources.cpuset_cpus = "0-1";
  cfg.resources.pids_limit = 100;
  s = spec_of(cfg);
  const auto& r = *s.linux_->resources;
  EXPECT_EQ(r.memory->limit, 256 << 20);
  EXPECT_EQ(r.memory->swap, 512 << 20);
  EXPECT_EQ(r.cpu->quota, 150000);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->cpus, "0-1");
  EXPECT_EQ(r.pids->limit, 100);
  EXPECT_EQ(s.linux_->cgroups_path, "/minictr/" + cfg.id);
}

TEST(SpecFromConfig, DeviceAllowList) {
  c::Config cfg = base_config();
  auto devices = spec_of(cfg).linux_->resources->devices;
  ASSERT_GT(devices.size(), 2u);
  // Deny everything first, then allow Docker's list.
  EXPECT_FALSE(devices[0].allow);
  EXPECT_EQ(devices[0].access, "rwm");
  bool null_allowed = false;
  for (const auto& d : devices)
    if (d.allow && d.type == "c" && d.major == 1 && d.minor == 3) null_allowed = true;
  EXPECT_TRUE(null_allowed);
  cfg.security.privileged = true;
  devices = spec_of(cfg).linux_->resources->devices;
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_TRUE(devices[0].allow);
  EXPECT_EQ(devices[0].type, "a");
}

TEST(SpecFromConfig, MountsAndPaths) {
  c::Config cfg = base_config();
  cfg.mounts = {{"bind", "/host/data", "", "/data", true},
                {"volume", "/state/volumes/v/_data", "v", "/v", false}};
  cfg.read_only_rootfs = true;
  oci::Spec s = spec_of(cfg);
  EXPECT_EQ(s.root->path, "/state/rootfs");
  EXPECT_TRUE(s.root->readonly);
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"})
    EXPECT_TRUE(mount_at(s, d)) << d;
  EXPECT_EQ(mount_at(s, "/dev/pts")->type, "devpts");
  EXPECT_TRUE(has(mount_at(s, "/dev/pts")->options, "newinstance"));
  EXPECT_TRUE(has(mount_at(s, "/sys")->options, "ro"));
  const oci::Mount* data = mount_at(s, "/data");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->source, "/host/data");
  EXPECT_EQ(data->type, "bind");
  EXPECT_TRUE(has(data->options, "ro"));
  EXPECT_FALSE(has(mount_at(s, "/v")->options, "ro"));
  EXPECT_EQ(mount_at(s, "/etc/hosts")->source, "/state/ctr/hosts");
  EXPECT_EQ(mount_at(s, "/etc/resolv.conf")->source, "/state/ctr/resolv.conf");
  EXPECT_EQ(s.linux_->masked_paths, mctr::security::masked_paths());
  EXPECT_EQ(s.linux_->readonly_paths, mctr::security::readonly_paths());
  EXPECT_EQ(s.annotations.at(c::kAnnotationLowerDirs), "/store/layers/b:/store/layers/a");
  EXPECT_EQ(s.annotations.at(c::kAnnotationUpperDir), "/state/ctr/upper");
  cfg.security.privileged = true;
  s = spec_of(cfg);
  EXPECT_TRUE(s.linux_->masked_paths.empty());
  EXPECT_FALSE(has(mount_at(s, "/sys/fs/cgroup")->options, "ro"));
}

TEST(SpecFromConfig, NamespacesByNetworkMode) {
  c::Config cfg = base_config();
  for (const char* mode : {"bridge", "none"}) {
    cfg.network_mode = c::NetworkMode::parse(mode);
    oci::Spec s = spec_of(cfg);
    for (const char* ns : {"pid", "ipc", "uts", "mount", "cgroup", "network"})
      EXPECT_TRUE(s.linux_->find_namespace(ns)) << mode << " " << ns;
    EXPECT_FALSE(s.linux_->find_namespace("user"));
  }
  cfg.network_mode = c::NetworkMode::parse("host");
  oci::Spec s = spec_of(cfg);
  EXPECT_FALSE(s.linux_->find_namespace("network"));
  EXPECT_TRUE(s.linux_->find_namespace("uts"));
}

TEST(SpecFromConfig, SeccompDefaultProfileResolvedForTheKeptCaps) {
  c::Config cfg = base_config();
  oci::Spec s = spec_of(cfg);
  ASSERT_TRUE(s.linux_->seccomp);
  const auto& sc = *s.linux_->seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, 1u);
  EXPECT_FALSE(sc.architectures.empty());
  EXPECT_EQ(sc.architectures[0].rfind("SCMP_ARCH_", 0), 0u);
  auto allowed = [&](const oci::Seccomp& p, const std::string& name) {
    for (const auto& r : p.syscalls)
      if (r.action == "SCMP_ACT_ALLOW" && has(r.names, name)) return true;
    return false;
  };
  EXPECT_TRUE(allowed(sc, "read"));
  EXPECT_FALSE(allowed(sc, "mount"));   // needs CAP_SYS_ADMIN
  EXPECT_FALSE(allowed(sc, "keyctl"));  // never
  // Rules only for a kept capability appear with it.
  cfg.security.cap_add = {"SYS_ADMIN"};
  EXPECT_TRUE(allowed(*spec_of(cfg).linux_->seccomp, "mount"));
  cfg.security.seccomp = "unconfined";
  EXPECT_FALSE(spec_of(cfg).linux_->seccomp);
  cfg.security.seccomp.clear();
  cfg.security.privileged = true;
  EXPECT_FALSE(spec_of(cfg).linux_->seccomp);
}

TEST(SpecFromConfig, SeccompCustomProfile) {
  c::Config cfg = base_config();
  cfg.security.seccomp = "/profiles/p.json";
  cfg.security.seccomp_profile_json = R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                 {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]}]})";
  auto sc = *spec_of(cfg).linux_->seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ALLOW");
  EXPECT_FALSE(sc.default_errno_ret);
  ASSERT_EQ(sc.syscalls.size(), 2u);
  EXPECT_EQ(sc.syscalls[0].errno_ret, 13u);
  EXPECT_EQ(sc.syscalls[1].errno_ret, 1u);  // the profile's default errno: EPERM
  ASSERT_EQ(sc.syscalls[1].args.size(), 1u);
  EXPECT_EQ(sc.syscalls[1].args[0].op, "SCMP_CMP_NE");
  EXPECT_EQ(sc.syscalls[1].args[0].value, 8u);
}

TEST(SpecFromConfig, WrittenBundleReadsBackAndChecks) {
  auto dir = std::filesystem::temp_directory_path() / ("minictr-bundle-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  c::Config cfg = base_config();
  cfg.resources.memory = 64 << 20;
  oci::Spec s = c::spec_from_config(cfg, dir, "/state/rootfs");
  c::write_bundle(dir, s, false);
  // What a student reads with cat is what parse_spec accepts, unchanged.
  oci::Spec back = oci::read_bundle_spec(c::bundle_dir(dir));
  EXPECT_EQ(oci::to_json(back), oci::to_json(s));
  EXPECT_EQ(back.linux_->resources->memory->limit, 64 << 20);
  EXPECT_EQ(oci::to_json(c::read_bundle(dir)), oci::to_json(s));
  mctr::fs::write_file(c::bundle_dir(dir) / "config.json",
                       R"({"ociVersion": "1.2.0", "process": {"cwd": "/"}})");
  EXPECT_ERROR(oci::read_bundle_spec(c::bundle_dir(dir)), "bundle/config.json: process.user: required");
  std::filesystem::remove_all(dir);
}

// The bundle's linux.seccomp, read back as a profile, compiles to the very
// program the private config's profile compiles to: the init loses nothing
// by taking it from the bundle.
TEST(BundleSeccomp, DefaultProfileRoundTrip) {
  c::Config cfg = base_config();
  for (const auto& caps : {std::vector<std::string>{}, std::vector<std::string>{"SYS_ADMIN"}}) {
    cfg.security.cap_add = caps;
    const oci::Spec s = spec_of(cfg);
    const auto direct = mctr::security::compile_seccomp(cfg.security);
    ASSERT_FALSE(direct.empty());
    EXPECT_TRUE(same_program(program_from_bundle(s), direct)) << caps.size();
  }
}

TEST(BundleSeccomp, CustomProfileRoundTrip) {
  TempDir dir;
  c::Config cfg = base_config();
  cfg.security.seccomp = (dir.path / "p.json").string();
  mctr::fs::write_file_atomic(cfg.security.seccomp, R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                 {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]}]})");
  mctr::security::read_seccomp_profile(cfg.security);  // as create does
  const oci::Spec s = spec_of(cfg);
  mctr::security::Profile p = c::seccomp_profile(*s.linux_->seccomp);
  EXPECT_EQ(p.default_action, mctr::security::Action::Allow);
  ASSERT_EQ(p.syscalls.size(), 2u);
  EXPECT_EQ(p.syscalls[0].names, std::vector<std::string>{"mkdir"});
  EXPECT_EQ(p.syscalls[0].errno_ret, 13);
  ASSERT_EQ(p.syscalls[1].args.size(), 1u);
  EXPECT_EQ(p.syscalls[1].args[0].op, mctr::security::Op::NotEqual);
  EXPECT_TRUE(same_program(program_from_bundle(s), mctr::security::compile_seccomp(cfg.security)));
}

TEST(BundleSeccomp, UnconfinedAndPrivilegedHaveNoFilter) {
  TempDir dir;
  c::Config cfg = base_config();
  cfg.security.seccomp = "unconfined";
  EXPECT_TRUE(c::seccomp_program(spec_of(cfg), dir.path).empty());
  cfg.security.seccomp.clear();
  cfg.security.privileged = true;
  EXPECT_TRUE(c::seccomp_program(spec_of(cfg), dir.path).empty());
  EXPECT_EQ(files_in(dir.path), 0u);  // nothing compiled, nothing cached
}

// The cache is keyed by the bundle's text: the same text reads the stored
// program back, another text (here: another kept capability) gets its own.
TEST(BundleSeccomp, ProgramIsCachedByTheBundleText) {
  TempDir dir;
  c::Config cfg = base_config();
  const oci::Spec s = spec_of(cfg);
  const auto first = c::seccomp_program(s, dir.path);
  EXPECT_TRUE(same_program(first, mctr::security::compile_seccomp(cfg.security)));
  EXPECT_EQ(files_in(dir.path), 1u);
  EXPECT_TRUE(same_program(c::seccomp_program(s, dir.path), first));
  EXPECT_EQ(files_in(dir.path), 1u);
  cfg.security.cap_add = {"SYS_ADMIN"};
  const auto other = c::seccomp_program(spec_of(cfg), dir.path);
  EXPECT_FALSE(same_program(other, first));
  EXPECT_EQ(files_in(dir.path), 2u);
  // A bundle edited by hand is a new text: compiled, not the old program.
  oci::Spec edited = s;
  edited.linux_->seccomp->default_action = "SCMP_ACT_ALLOW";
  edited.linux_->seccomp->default_errno_ret.reset();
  EXPECT_FALSE(same_program(c::seccomp_program(edited, dir.path), first));
  EXPECT_EQ(files_in(dir.path), 3u);
}

TEST(BundleCgroup, LeafOfCgroupsPath) {
  c::Config cfg = base_config();
  EXPECT_EQ(c::cgroup_leaf(spec_of(cfg)), cfg.id);
  oci::Spec s = spec_of(cfg);
  s.linux_->cgroups_path = "machine.slice/libpod-abc.scope";
  EXPECT_EQ(c::cgroup_leaf(s), "libpod-abc.scope");
  s.linux_->cgroups_path = "flat";
  EXPECT_EQ(c::cgroup_leaf(s), "flat");
}

// The init writes /etc/hostname, hosts and resolv.conf itself unless the
// container is on a bridge (the supervisor writes them with its address).
TEST(BundleEtcFiles, WhoWritesThem) {
  c::Config cfg = base_config();
  for (const char* mode : {"bridge", "mynet"}) {
    cfg.network_mode = c::NetworkMode::parse(mode);
    const oci::Spec s = spec_of(cfg);
    EXPECT_EQ(s.annotations.at(c::kAnnotationNetwork), mode);
    EXPECT_FALSE(c::init_writes_etc_files(s)) << mode;
  }
  for (const char* mode : {"none", "host", "container:0123456789ab"}) {
    cfg.network_mode = c::NetworkMode::parse(mode);
    const oci::Spec s = spec_of(cfg);
    EXPECT_TRUE(c::init_writes_etc_files(s)) << mode;
    EXPECT_EQ(c::network_mode(s), cfg.network_mode) << mode;
  }
  // A bundle without the annotation: what the namespaces can tell.
  cfg.network_mode = c::NetworkMode::parse("bridge");
  oci::Spec s = spec_of(cfg);
  s.annotations.erase(c::kAnnotationNetwork);
  EXPECT_EQ(c::network_mode(s).kind, c::NetworkMode::Kind::kNone);
  EXPECT_TRUE(c::init_writes_etc_files(s));
  s.linux_->namespaces.erase(std::remove_if(s.linux_->namespaces.begin(), s.linux_->namespaces.end(),
                                            [](const auto& n) { return n.type == "network"; }),
                             s.linux_->namespaces.end());
  EXPECT_EQ(c::network_mode(s).kind, c::NetworkMode::Kind::kHost);
}

// What the files say is the same from the bundle as from the private config.
TEST(BundleEtcFiles, ContentFromTheBundle) {
  c::Config cfg = base_config();
  for (const char* userns : {"", "0:100000:65536"}) {
    cfg.userns = userns;
    cfg.network_mode = c::NetworkMode::parse("none");
    const c::EtcFiles want = c::etc_files_of(cfg), got = c::etc_files_of(spec_of(cfg));
    EXPECT_EQ(got.hostname, "0123456789ab");
    EXPECT_EQ(got.hostname, want.hostname);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.network, want.network);
    EXPECT_EQ(got.owner, want.owner) << userns;
  }
  EXPECT_EQ(c::etc_files_of(spec_of(cfg)).owner, (std::pair<uid_t, gid_t>{100000, 100000}));
}

// exec's process: the bundle's, with Docker's rules for exec's flags.
TEST(BundleExec, ContainerProcessWithExecFlags) {
  c::Config cfg = base_config();
  cfg.tty = true;  // the container's TERM=xterm is the container's -t, not exec's
  cfg.security.cap_drop = {"CHOWN"};
  const oci::Spec s = spec_of(cfg);
  c::ExecOptions o;
  o.cmd = {"ls", "-l"};
  oci::Process p = c::exec_process(s, o);
  EXPECT_EQ(p.args, o.cmd);
  EXPECT_FALSE(p.terminal);
  EXPECT_EQ(p.cwd, "/srv");
  EXPECT_EQ(p.env, (std::vector<std::string>{"HOSTNAME=0123456789ab", "PATH=/bin:/usr/bin", "A=1"}));
  EXPECT_EQ(c::kept_capabilities(p), c::kept_capabilities(*s.process));
  EXPECT_FALSE(has(c::kept_capabilities(p), "CHOWN"));
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(p.user.uid, s.process->user.uid);

  // -t, -e (replaces the container's A in place, adds B), -w.
  o.tty = true;
  o.env = {"A=2", "B=3"};
  o.workdir = "/tmp";
  p = c::exec_process(s, o);
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.env, (std::vector<std::string>{"HOSTNAME=0123456789ab", "PATH=/bin:/usr/bin", "A=2", "B=3",
                                             "TERM=xterm"}));
  EXPECT_EQ(p.cwd, "/tmp");
  o.env = {"TERM=vt100"};  // exec's own TERM wins over -t's
  EXPECT_EQ(c::exec_process(s, o).env.back(), "TERM=vt100");

  // --privileged: every capability, no no_new_privs.
  o.privileged = true;
  p = c::exec_process(s, o);
  EXPECT_EQ(c::kept_capabilities(p), mctr::security::all_capabilities());
  EXPECT_EQ(p.capabilities->effective, p.capabilities->bounding);
  EXPECT_TRUE(p.capabilities->ambient.empty());
  EXPECT_FALSE(p.no_new_privileges);
}

TEST(BundleExec, ContainersOwnTermStays) {
  c::Config cfg = base_config();
  cfg.tty = true;
  cfg.env = {"TERM=vt100", "A=1"};
  c::ExecOptions o;
  o.cmd = {"sh"};
  EXPECT_TRUE(has(c::exec_process(spec_of(cfg), o).env, "TERM=vt100"));
  cfg.tty = false;
  cfg.env = {"A=1"};
  EXPECT_FALSE(has(c::exec_process(spec_of(cfg), o).env, "TERM=xterm"));
  o.tty = true;
  EXPECT_TRUE(has(c::exec_process(spec_of(cfg), o).env, "TERM=xterm"));
}

// The same process as exec made from the private config: its env plus -e
// with exec's -t, its capabilities (all with either --privileged), and
// no_new_privs unless privileged.
TEST(BundleExec, SameAsFromTheConfig) {
  for (bool ctr_tty : {false, true})
    for (bool exec_tty : {false, true})
      for (bool ctr_priv : {false, true})
        for (bool exec_priv : {false, true}) {
          c::Config cfg = base_config();
          cfg.tty = ctr_tty;
          cfg.security.privileged = ctr_priv;
          cfg.security.cap_add = {"NET_ADMIN"};
          c::ExecOptions o;
          o.cmd = {"sh"};
          o.tty = exec_tty;
          o.privileged = exec_priv;
          o.env = {"NEW=1"};
          const oci::Process p = c::exec_process(spec_of(cfg), o);
          c::Config then = cfg;
          then.env.push_back("NEW=1");
          then.tty = exec_tty;
          then.security.privileged = ctr_priv || exec_priv;
          EXPECT_EQ(p.env, c::process_env(then)) << ctr_tty << exec_tty;
          EXPECT_EQ(c::kept_capabilities(p), mctr::security::resolve_capabilities(then.security));
          EXPECT_EQ(p.no_new_privileges, then.security.no_new_privs && !then.security.privileged);
        }
}

// choose_child_start reads the bundle: the same user namespace and network
// mode as the private config said.
TEST(BundleChildStart, SameInputsAsTheConfig) {
  c::Config cfg = base_config();
  for (const char* userns : {"", "0:100000:65536"})
    for (const char* mode : {"bridge", "none", "host", "container:abc", "mynet"}) {
      cfg.userns = userns;
      cfg.network_mode = c::NetworkMode::parse(mode);
      const oci::Spec s = spec_of(cfg);
      EXPECT_EQ(!c::user_namespace_maps(s), cfg.userns.empty()) << userns;
      EXPECT_EQ(c::network_mode(s), cfg.network_mode) << mode;
      EXPECT_EQ(c::network_mode(s).attaches_to_bridge(), cfg.network_mode.attaches_to_bridge()) << mode;
    }
}
