// The OCI runtime-spec (v1.2) container configuration: the config.json of a
// bundle, as dockerd/containerd hand it to runc. Plain values, one struct
// per object of the spec, with the spec's JSON names in the comments.
//
// Reading follows the spec: unknown fields are ignored (a newer spec or
// another runtime's extensions), a known field of the wrong type or with a
// value the spec does not allow is refused with one line naming it:
//   config.json: linux.namespaces[2].type: unknown namespace "foo"
// Optional fields stay unset (std::optional, or empty) and are not written
// back, so a config round-trips.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mctr::oci {

// The version we write into ociVersion.
inline constexpr const char* kVersion = "1.2.0";

struct User {  // process.user
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;  // additionalGids
  std::string username;                   // informational only
};

struct Capabilities {  // process.capabilities: "CAP_CHOWN", ...
  std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

struct Rlimit {      // process.rlimits[]
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct ConsoleSize {  // process.consoleSize
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;  // at least one on Linux
  std::vector<std::string> env;   // "KEY=value"
  std::string cwd = "/";          // absolute
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;    // noNewPrivileges
  std::optional<int> oom_score_adj;  // oomScoreAdj, -1000..1000
};

struct Root {
  std::string path;  // relative to the bundle, or absolute
  bool readonly = false;
};

struct Mount {              // mounts[]
  std::string destination;  // absolute, inside the container
  std::string type;         // "proc", "tmpfs", "bind", ... ("" = bind when options say so)
  std::string source;
  std::vector<std::string> options;  // mount(8) options: "nosuid", "ro", "rbind", "mode=755"
};

struct Hook {        // hooks.*[]
  std::string path;  // absolute, on the host
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated by the spec, still read
  std::vector<Hook> create_runtime, create_container, start_container, poststart, poststop;
};

struct Namespace {   // linux.namespaces[]
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // "" = a new one; else the namespace to join (/proc/PID/ns/net)
};

struct IdMapping {            // linux.uidMappings[], linux.gidMappings[]
  uint32_t container_id = 0;  // containerID
  uint32_t host_id = 0;       // hostID
  uint32_t size = 0;
};

struct DeviceRule {  // linux.resources.devices[]
  bool allow = false;
  std::string type;                     // "a", "c", "b" ("" = all)
  std::optional<int64_t> major, minor;  // unset = any ("*")
  std::string access;                   // subset of "rwm"
  bool operator==(const DeviceRule&) const = default;
};

struct Memory {  // linux.resources.memory, bytes
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;             // memory + swap, as in cgroup v1; -1 unlimited
  std::optional<bool> disable_oom_killer;  // disableOOMKiller
  bool operator==(const Memory&) const = default;
};

struct Cpu {  // linux.resources.cpu
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;    // microseconds per period; -1 unlimited
  std::optional<uint64_t> period;  // microseconds
  std::string cpus;                // cpuset "0-2,4"
  std::string mems;
  bool operator==(const Cpu&) const = default;
};

struct Pids {
  int64_t limit = 0;  // -1 or 0: unlimited
  bool operator==(const Pids&) const = default;
};

struct Resources {  // linux.resources
  std::vector<DeviceRule> devices;
  std::optional<Memory> memory;
  std::optional<Cpu> cpu;
  std::optional<Pids> pids;
  bool operator==(const Resources&) const = default;
};

struct SeccompArg {  // linux.seccomp.syscalls[].args[]
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;  // valueTwo
  std::string op;          // SCMP_CMP_EQ ...
};

struct SeccompSyscall {  // linux.seccomp.syscalls[]
  std::vector<std::string> names;
  std::string action;                 // SCMP_ACT_ALLOW ...
  std::optional<uint32_t> errno_ret;  // errnoRet
  std::vector<SeccompArg> args;
};

struct Seccomp {                              // linux.seccomp
  std::string default_action;                 // defaultAction
  std::optional<uint32_t> default_errno_ret;  // defaultErrnoRet
  std::vector<std::string> architectures;     // SCMP_ARCH_X86_64 ...
  std::vector<std::string> flags;             // SECCOMP_FILTER_FLAG_*
  std::vector<SeccompSyscall> syscalls;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;  // cgroupsPath
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;  // rootfsPropagation: "", private, rslave, ...
  std::vector<std::string> masked_paths, readonly_paths;

  // The entry of `type`, or nullptr when the container shares the runtime's.
  const Namespace* find_namespace(const std::string& type) const;
};

struct Spec {
  std::string oci_version = kVersion;  // ociVersion
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux_;  // "linux"
};

// Parse a config.json. Throws mctr::Error, one line starting with `source`
// ("config.json: process.args: expected an array of strings").
Spec parse_spec(const nlohmann::json& j, const std::string& source = "config.json");
Spec parse_spec_text(const std::string& text, const std::string& source = "config.json");
// <bundle>/config.json, errors naming that path.
Spec read_bundle_spec(const std::filesystem::path& bundle);
// The same checks for a process alone (`runc exec --process process.json`).
Process parse_process(const nlohmann::json& j, const std::string& source = "process.json");

nlohmann::json to_json(const Spec& s);
nlohmann::json to_json(const Process& p);
nlohmann::json to_json(const Seccomp& s);  // linux.seccomp alone

// nlohmann's conventions, so a Spec can sit inside other JSON values:
// j.get<oci::Spec>() checks as parse_spec does.
void to_json(nlohmann::json& j, const Spec& s);
void from_json(const nlohmann::json& j, Spec& s);

// The names the spec allows, for the checks and the tests.
bool known_namespace(const std::string& type);
bool known_rlimit(const std::string& type);

}  // namespace mctr::oci
