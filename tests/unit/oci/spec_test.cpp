// The OCI runtime-spec types: a default config as `runc spec` makes one
// parses, every field survives a round trip, unknown fields are ignored and
// each wrong field is refused with its path named.
#include "oci/spec.h"

#include <gtest/gtest.h>

#include "expect_error.h"
#include "util/error.h"

namespace oci = mctr::oci;
using nlohmann::json;

namespace {

// Written by hand from the runtime-spec (config.md, config-linux.md): the
// shape of the config `runc spec` writes, a rootless-less default.
const char* kDefaultConfig = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                    "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";

// Every field this module knows, set to something other than its default.
oci::Spec full_spec() {
  oci::Spec s;
  s.oci_version = "1.1.0";
  oci::Process p;
  p.terminal = true;
  p.console_size = oci::ConsoleSize{24, 80};
  p.user = {1000, 100, 022, {10, 20}, "alice"};
  p.args = {"/bin/sh", "-c", "echo hi"};
  p.env = {"PATH=/bin", "A=b=c"};
  p.cwd = "/work";
  p.capabilities = oci::Capabilities{
      {"CAP_CHOWN", "CAP_KILL"}, {"CAP_KILL"}, {"CAP_KILL"}, {"CAP_SETUID"}, {"CAP_NET_RAW"}};
  p.rlimits = {{"RLIMIT_NOFILE", 4096, 1024}, {"RLIMIT_CORE", 0, 0}};
  p.no_new_privileges = true;
  p.oom_score_adj = -500;
  s.process = p;
  s.root = oci::Root{"/var/lib/x/rootfs", true};
  s.hostname = "box";
  s.domainname = "example.org";
  s.mounts = {{"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
              {"/data", "bind", "/srv/data", {"rbind", "ro"}}};
  oci::Hooks h;
  h.create_runtime = {{"/usr/bin/hook", {"hook", "create"}, {"X=1"}, 5}};
  h.create_container = {{"/bin/true", {}, {}, std::nullopt}};
  h.start_container = {{"/bin/true", {"true"}, {}, std::nullopt}};
  h.poststart = {{"/bin/echo", {"echo", "started"}, {}, 1}};
  h.poststop = {{"/bin/rm", {"rm", "-f", "/tmp/x"}, {}, std::nullopt}};
  s.hooks = h;
  s.annotations = {{"org.example.key", "value"}, {"com.minictr.name", "box"}};
  oci::Linux l;
  l.namespaces = {{"pid", ""}, {"network", "/proc/42/ns/net"}, {"mount", ""}, {"uts", ""}, {"user", ""}};
  l.uid_mappings = {{0, 100000, 65536}};
  l.gid_mappings = {{0, 100000, 65536}, {65536, 1, 1}};
  l.sysctl = {{"net.ipv4.ip_forward", "1"}};
  oci::Resources r;
  r.devices = {{false, "", std::nullopt, std::nullopt, "rwm"},
               {true, "c", 1, 3, "rwm"},
               {true, "c", 136, std::nullopt, "rw"}};
  r.memory = oci::Memory{268435456, 134217728, 536870912, true};
  r.cpu = oci::Cpu{512, 50000, 100000, "0-1", "0"};
  r.pids = oci::Pids{100};
  l.resources = r;
  l.cgroups_path = "/minictr/abc";
  oci::Seccomp sc;
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.default_errno_ret = 1;
  sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  sc.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  sc.syscalls = {{{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {}},
                 {{"mkdir"}, "SCMP_ACT_ERRNO", 13, {}},
                 {{"personality"},
                  "SCMP_ACT_ALLOW",
                  std::nullopt,
                  {{0, 8, 0, "SCMP_CMP_EQ"}, {1, 0xff, 0x10, "SCMP_CMP_MASKED_EQ"}}}};
  l.seccomp = sc;
  l.rootfs_propagation = "rslave";
  l.masked_paths = {"/proc/kcore"};
  l.readonly_paths = {"/proc/sys"};
  s.linux_ = l;
  return s;
}

// A copy of the default config with one change made by `edit`, parsed.
oci::Spec parse_edited(const std::function<void(json&)>& edit) {
  json j = json::parse(kDefaultConfig);
  edit(j);
  return oci::parse_spec(j);
}

}  // namespace

TEST(OciSpec, RuncStyleDefaultParses) {
  oci::Spec s = oci::parse_spec_text(kDefaultConfig);
  EXPECT_EQ(s.oci_version, "1.2.0");
  ASSERT_TRUE(s.process);
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s.process->cwd, "/");
  EXPECT_EQ(s.process->user.uid, 0u);
  ASSERT_TRUE(s.process->capabilities);
  EXPECT_EQ(s.process->capabilities->bounding.size(), 3u);
  EXPECT_TRUE(s.process->capabilities->ambient.empty());
  ASSERT_EQ(s.process->rlimits.size(), 1u);
  EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s.process->rlimits[0].soft, 1024u);
  EXPECT_TRUE(s.process->no_new_privileges);
  ASSERT_TRUE(s.root);
  EXPECT_EQ(s.root->path, "rootfs");
  EXPECT_TRUE(s.root->readonly);
  EXPECT_EQ(s.hostname, "runc");
  ASSERT_EQ(s.mounts.size(), 7u);
  EXPECT_EQ(s.mounts[1].destination, "/dev");
  EXPECT_EQ(s.mounts[1].options[2], "mode=755");
  ASSERT_TRUE(s.linux_);
  EXPECT_EQ(s.linux_->namespaces.size(), 6u);
  EXPECT_TRUE(s.linux_->find_namespace("cgroup"));
  EXPECT_FALSE(s.linux_->find_namespace("user"));
  ASSERT_TRUE(s.linux_->resources);
  ASSERT_EQ(s.linux_->resources->devices.size(), 1u);
  EXPECT_FALSE(s.linux_->resources->devices[0].allow);
  EXPECT_FALSE(s.linux_->resources->devices[0].major);
  EXPECT_EQ(s.linux_->masked_paths.size(), 10u);
  EXPECT_EQ(s.linux_->readonly_paths.back(), "/proc/sysrq-trigger");
  EXPECT_FALSE(s.hooks);
  EXPECT_FALSE(s.linux_->seccomp);
}

TEST(OciSpec, RoundTripKeepsEveryField) {
  oci::Spec s = full_spec();
  json once = oci::to_json(s);
  oci::Spec back = oci::parse_spec(once);
  EXPECT_EQ(oci::to_json(back), once);
  // Spot checks that the values really went through (not only the JSON).
  EXPECT_EQ(back.process->user.umask, 022u);
  EXPECT_EQ(back.process->user.additional_gids, (std::vector<uint32_t>{10, 20}));
  EXPECT_EQ(back.process->console_size->width, 80u);
  EXPECT_EQ(back.process->capabilities->ambient, std::vector<std::string>{"CAP_NET_RAW"});
  EXPECT_EQ(back.process->oom_score_adj, -500);
  EXPECT_EQ(back.linux_->namespaces[1].path, "/proc/42/ns/net");
  EXPECT_EQ(back.linux_->gid_mappings[1].host_id, 1u);
  EXPECT_EQ(back.linux_->resources->memory->swap, 536870912);
  EXPECT_EQ(back.linux_->resources->cpu->quota, 50000);
  EXPECT_EQ(back.linux_->resources->devices[2].major, 136);
  EXPECT_FALSE(back.linux_->resources->devices[2].minor);
  EXPECT_EQ(back.linux_->seccomp->syscalls[1].errno_ret, 13u);
  EXPECT_EQ(back.linux_->seccomp->syscalls[2].args[1].value_two, 0x10u);
  EXPECT_EQ(back.hooks->create_runtime[0].timeout, 5);
  EXPECT_EQ(back.hooks->poststop[0].args.size(), 3u);
  EXPECT_EQ(back.annotations.at("org.example.key"), "value");
  EXPECT_EQ(back.linux_->sysctl.at("net.ipv4.ip_forward"), "1");
}

TEST(OciSpec, JsonUsesTheSpecNames) {
  json j = oci::to_json(full_spec());
  EXPECT_EQ(j["ociVersion"], "1.1.0");
  EXPECT_EQ(j["process"]["noNewPrivileges"], true);
  EXPECT_EQ(j["process"]["user"]["additionalGids"][1], 20);
  EXPECT_EQ(j["process"]["consoleSize"]["height"], 24);
  EXPECT_EQ(j["process"]["oomScoreAdj"], -500);
  EXPECT_EQ(j["linux"]["uidMappings"][0]["containerID"], 0);
  EXPECT_EQ(j["linux"]["uidMappings"][0]["hostID"], 100000);
  EXPECT_EQ(j["linux"]["resources"]["memory"]["disableOOMKiller"], true);
  EXPECT_EQ(j["linux"]["cgroupsPath"], "/minictr/abc");
  EXPECT_EQ(j["linux"]["seccomp"]["defaultErrnoRet"], 1);
  EXPECT_EQ(j["linux"]["seccomp"]["syscalls"][2]["args"][1]["valueTwo"], 0x10);
  EXPECT_EQ(j["linux"]["rootfsPropagation"], "rslave");
  EXPECT_EQ(j["hooks"]["createRuntime"][0]["path"], "/usr/bin/hook");
  EXPECT_EQ(j["hooks"]["startContainer"][0]["args"][0], "true");
  // Unset optional fields are left out, as Go's omitempty does.
  json minimal = oci::to_json(oci::parse_spec_text(R"({"ociVersion": "1.0.2"})"));
  EXPECT_EQ(minimal, json({{"ociVersion", "1.0.2"}}));
}

TEST(OciSpec, NlohmannConversions) {
  json j = full_spec();
  EXPECT_EQ(j, oci::to_json(full_spec()));
  oci::Spec back = j.get<oci::Spec>();
  EXPECT_EQ(back.hostname, "box");
  j["linux"]["namespaces"][0]["type"] = "pids";
  EXPECT_ERROR(j.get<oci::Spec>(), "config.json: linux.namespaces[0].type: unknown namespace \"pids\"");
}

TEST(OciSpec, UnknownFieldsAreIgnored) {
  oci::Spec s = parse_edited([](json& j) {
    j["vm"] = {{"hypervisor", {{"path", "/usr/bin/qemu"}}}};
    j["process"]["apparmorProfile"] = "docker-default";
    j["process"]["futureField"] = {1, 2, 3};
    j["linux"]["intelRdt"] = {{"closID", "x"}};
    j["linux"]["resources"]["hugepageLimits"] = json::array();
    j["mounts"][0]["uidMappings"] = json::array();
  });
  EXPECT_EQ(s.process->args[0], "sh");
  EXPECT_EQ(s.mounts.size(), 7u);
}

TEST(OciSpec, NullMeansUnset) {
  oci::Spec s = parse_edited([](json& j) {
    j["hooks"] = nullptr;
    j["process"]["capabilities"] = nullptr;
    j["linux"]["seccomp"] = nullptr;
  });
  EXPECT_FALSE(s.hooks);
  EXPECT_FALSE(s.process->capabilities);
  EXPECT_FALSE(s.linux_->seccomp);
}

TEST(OciSpec, ErrorsNameTheField) {
  auto refused = [](const std::function<void(json&)>& edit, const std::string& message) {
    EXPECT_ERROR(parse_edited(edit), message);
  };
  refused([](json& j) { j["linux"]["namespaces"][2]["type"] = "foo"; },
          "config.json: linux.namespaces[2].type: unknown namespace \"foo\"");
  refused(
      [](json& j) {
        j["linux"]["namespaces"].push_back({{"type", "pid"}});
      },
      "linux.namespaces[6].type: namespace \"pid\" given twice");
  refused([](json& j) { j["linux"]["namespaces"][1]["path"] = "proc/1/ns/net"; },
          "linux.namespaces[1].path: must be an absolute path");
  refused([](json& j) { j.erase("ociVersion"); }, "config.json: ociVersion: required");
  refused([](json& j) { j["ociVersion"] = "2.0.0"; }, "ociVersion: unsupported version \"2.0.0\"");
  refused([](json& j) { j["process"]["args"] = "sh"; },
          "config.json: process.args: expected an array of strings");
  refused([](json& j) { j["process"]["args"] = json::array(); },
          "process.args: at least one entry is required");
  refused([](json& j) { j["process"]["args"][0] = 7; }, "process.args[0]: expected a string");
  refused([](json& j) { j["process"]["env"].push_back("NOEQUALS"); }, "process.env[2]: expected KEY=value");
  refused([](json& j) { j["process"]["cwd"] = "relative"; }, "process.cwd: must be an absolute path");
  refused([](json& j) { j["process"].erase("cwd"); }, "process.cwd: required");
  refused([](json& j) { j["process"]["user"]["uid"] = -1; },
          "process.user.uid: expected a non-negative integer");
  refused([](json& j) { j["process"]["user"]["gid"] = 4294967296LL; }, "process.user.gid: out of range");
  refused([](json& j) { j["process"]["user"]["uid"] = 1.5; }, "process.user.uid: expected an integer");
  refused([](json& j) { j["process"]["user"].erase("gid"); }, "process.user.gid: required");
  refused([](json& j) { j["process"].erase("user"); }, "process.user: required");
  refused([](json& j) { j["process"]["user"]["umask"] = 4096; }, "process.user.umask: must be at most 0777");
  refused(
      [](json& j) {
        j["process"]["user"]["additionalGids"] = {1, "x"};
      },
      "process.user.additionalGids[1]: expected an integer");
  refused([](json& j) { j["process"]["terminal"] = "yes"; }, "process.terminal: expected true or false");
  refused([](json& j) { j["process"]["capabilities"]["bounding"][1] = "KILL"; },
          "process.capabilities.bounding[1]: not a capability name: \"KILL\"");
  refused([](json& j) { j["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"; },
          "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  refused([](json& j) { j["process"]["rlimits"][0]["soft"] = 2048; },
          "process.rlimits[0]: soft limit above the hard limit");
  refused(
      [](json& j) {
        j["process"]["rlimits"].push_back({{"type", "RLIMIT_NOFILE"}, {"hard", 1}, {"soft", 1}});
      },
      "process.rlimits[1].type: \"RLIMIT_NOFILE\" given twice");
  refused([](json& j) { j["process"]["oomScoreAdj"] = 1001; },
          "process.oomScoreAdj: must be within -1000..1000");
  refused(
      [](json& j) {
        j["process"]["consoleSize"] = {{"height", 1}};
      },
      "process.consoleSize.width: required");
  refused([](json& j) { j["root"] = "rootfs"; }, "config.json: root: expected an object");
  refused([](json& j) { j["root"].erase("path"); }, "root.path: required");
  refused([](json& j) { j["mounts"][3]["destination"] = "dev/shm"; },
          "mounts[3].destination: must be an absolute path, not \"dev/shm\"");
  refused([](json& j) { j["mounts"][0] = "proc"; }, "mounts[0]: expected an object");
  refused(
      [](json& j) {
        j["mounts"][1]["options"] = {"nosuid", false};
      },
      "mounts[1].options[1]: expected a string");
  refused(
      [](json& j) {
        j["hooks"] = {{"poststart", {{{"path", "hook"}}}}};
      },
      "hooks.poststart[0].path: must be an absolute path");
  refused(
      [](json& j) {
        j["hooks"] = {{"createRuntime", {{{"path", "/h"}, {"timeout", 0}}}}};
      },
      "hooks.createRuntime[0].timeout: must be greater than zero");
  refused([](json& j) { j["annotations"] = {{"a", 1}}; }, "annotations.a: expected a string");
  refused(
      [](json& j) {
        j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}}};
      },
      "linux.uidMappings[0].size: required");
  refused(
      [](json& j) {
        j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 0}}};
      },
      "linux.gidMappings[0].size: must be greater than zero");
  refused([](json& j) { j["linux"]["resources"]["devices"][0]["access"] = "rwx"; },
          "linux.resources.devices[0].access: \"rwx\" is not a subset of \"rwm\"");
  refused([](json& j) { j["linux"]["resources"]["devices"][0]["type"] = "x"; },
          "linux.resources.devices[0].type: unknown device type \"x\"");
  refused([](json& j) { j["linux"]["resources"]["devices"][0].erase("allow"); },
          "linux.resources.devices[0].allow: required");
  refused(
      [](json& j) {
        j["linux"]["resources"]["memory"] = {{"limit", "256m"}};
      },
      "linux.resources.memory.limit: expected an integer");
  refused(
      [](json& j) {
        j["linux"]["resources"]["cpu"] = {{"period", 0}};
      },
      "linux.resources.cpu.period: must be greater than zero");
  refused([](json& j) { j["linux"]["resources"]["pids"] = json::object(); },
          "linux.resources.pids.limit: required");
  refused(
      [](json& j) {
        j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOPE"}};
      },
      "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
  refused([](json& j) { j["linux"]["seccomp"] = json::object(); }, "linux.seccomp.defaultAction: required");
  refused(
      [](json& j) {
        j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"x86_64"}}};
      },
      "linux.seccomp.architectures[0]: unknown seccomp architecture \"x86_64\"");
  refused(
      [](json& j) {
        j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                 {"syscalls",
                                  {{{"names", {"kill"}},
                                    {"action", "SCMP_ACT_ERRNO"},
                                    {"args", {{{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
      },
      "linux.seccomp.syscalls[0].args[0].index: a syscall has arguments 0..5");
  refused(
      [](json& j) {
        j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                 {"syscalls",
                                  {{{"names", {"kill"}},
                                    {"action", "SCMP_ACT_ERRNO"},
                                    {"args", {{{"index", 0}, {"value", 1}, {"op", "=="}}}}}}}};
      },
      "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"==\"");
  refused(
      [](json& j) {
        j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                 {"syscalls", {{{"names", json::array()}, {"action", "SCMP_ACT_ERRNO"}}}}};
      },
      "linux.seccomp.syscalls[0].names: at least one name is required");
  refused([](json& j) { j["linux"]["rootfsPropagation"] = "everywhere"; },
          "linux.rootfsPropagation: unknown propagation \"everywhere\"");
  refused([](json& j) { j["linux"]["maskedPaths"][0] = "proc/acpi"; },
          "linux.maskedPaths[0]: must be an absolute path");
  refused(
      [](json& j) {
        j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", 1}};
      },
      "linux.sysctl.net.ipv4.ip_forward: expected a string");
  refused([](json& j) { j["linux"]["namespaces"].erase(3); }, "hostname: needs a new uts namespace");
}

TEST(OciSpec, NotJsonOrNotAnObject) {
  EXPECT_ERROR(oci::parse_spec_text("{", "/b/config.json"), "/b/config.json: not valid JSON");
  EXPECT_ERROR(oci::parse_spec_text("[]"), "config.json: expected a JSON object");
}

TEST(OciSpec, ProcessAlone) {
  json p = json::parse(kDefaultConfig)["process"];
  EXPECT_EQ(oci::parse_process(p).args[0], "sh");
  p["cwd"] = "";
  EXPECT_ERROR(oci::parse_process(p), "process.json: cwd: must be an absolute path");
  EXPECT_EQ(oci::to_json(oci::parse_process(json::parse(kDefaultConfig)["process"])),
            oci::to_json(*oci::parse_spec_text(kDefaultConfig).process));
}

TEST(OciSpec, KnownNames) {
  for (const char* ns : {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"})
    EXPECT_TRUE(oci::known_namespace(ns)) << ns;
  EXPECT_FALSE(oci::known_namespace("net"));  // the kernel's name, not the spec's
  EXPECT_TRUE(oci::known_rlimit("RLIMIT_NPROC"));
  EXPECT_FALSE(oci::known_rlimit("NOFILE"));
}
