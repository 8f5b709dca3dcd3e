#include "oci/spec.h"

#include <algorithm>
#include <set>
#include <utility>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::oci {

using nlohmann::json;

namespace {

// A field that is present but wrong: where it is ("linux.namespaces[2].type")
// and what is wrong. parse_spec() adds the file's name in front.
struct FieldError {
  std::string at, what;
};

[[noreturn]] void bad(const std::string& at, const std::string& what) { throw FieldError{at, what}; }

std::string key_of(const std::string& at, const char* key) { return at.empty() ? key : at + "." + key; }
std::string index_of(const std::string& at, size_t i) { return at + "[" + std::to_string(i) + "]"; }

// The value of `key`, or nullptr when absent or null (Go's omitempty writes
// neither, but a null is "not set" for every runtime).
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

void expect_object(const json& j, const std::string& at) {
  if (!j.is_object()) bad(at, "expected an object");
}

std::string as_string(const json& v, const std::string& at) {
  if (!v.is_string()) bad(at, "expected a string");
  return v.get<std::string>();
}

bool as_bool(const json& v, const std::string& at) {
  if (!v.is_boolean()) bad(at, "expected true or false");
  return v.get<bool>();
}

// Integers: JSON numbers without a fraction, within the type's range.
template <typename T>
T as_int(const json& v, const std::string& at) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) bad(at, "out of range");
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    auto i = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0) bad(at, "expected a non-negative integer");
      if (static_cast<uint64_t>(i) > std::numeric_limits<T>::max()) bad(at, "out of range");
    } else {
      if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) bad(at, "out of range");
    }
    return static_cast<T>(i);
  }
  bad(at, "expected an integer");
}

std::string str(const json& obj, const char* key, const std::string& at) {
  const json* v = field(obj, key);
  return v ? as_string(*v, key_of(at, key)) : std::string();
}

std::string required_str(const json& obj, const char* key, const std::string& at) {
  const json* v = field(obj, key);
  if (!v) bad(key_of(at, key), "required");
  return as_string(*v, key_of(at, key));
}

bool boolean(const json& obj, const char* key, const std::string& at) {
  const json* v = field(obj, key);
  return v && as_bool(*v, key_of(at, key));
}

template <typename T>
std::optional<T> opt_int(const json& obj, const char* key, const std::string& at) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  return as_int<T>(*v, key_of(at, key));
}

template <typename T>
T required_int(const json& obj, const char* key, const std::string& at) {
  auto v = opt_int<T>(obj, key, at);
  if (!v) bad(key_of(at, key), "required");
  return *v;
}

// An array of objects: `each(element, "at[i]")` for every element.
template <typename F>
void each_object(const json& obj, const char* key, const std::string& at, F each) {
  const json* v = field(obj, key);
  if (!v) return;
  std::string here = key_of(at, key);
  if (!v->is_array()) bad(here, "expected an array");
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    const std::string at_i = index_of(here, i);
    expect_object(e, at_i);
    each(e, at_i);
  }
}

std::vector<std::string> strings(const json& obj, const char* key, const std::string& at) {
  std::vector<std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  std::string here = key_of(at, key);
  if (!v->is_array()) bad(here, "expected an array of strings");
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    // The element's place is spelled out only when it is wrong: a seccomp
    // profile has hundreds of names.
    const json& e = (*v)[i];
    if (!e.is_string()) bad(index_of(here, i), "expected a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> string_map(const json& obj, const char* key, const std::string& at) {
  std::map<std::string, std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  std::string here = key_of(at, key);
  if (!v->is_object()) bad(here, "expected an object of strings");
  for (auto it = v->begin(); it != v->end(); ++it)
    out[it.key()] = as_string(it.value(), here + "." + it.key());
  return out;
}

// An object the spec defines: its fields are read by `read`, unknown ones ignored.
template <typename T, typename F>
std::optional<T> object(const json& obj, const char* key, const std::string& at, F read) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  std::string here = key_of(at, key);
  expect_object(*v, here);
  return read(*v, here);
}

void require_absolute(const std::string& path, const std::string& at) {
  if (path.empty() || path[0] != '/') bad(at, "must be an absolute path, not \"" + path + "\"");
}

void require_one_of(const std::string& value, std::initializer_list<const char*> allowed,
                    const std::string& at, const std::string& what) {
  for (const char* a : allowed)
    if (value == a) return;
  bad(at, "unknown " + what + " \"" + value + "\"");
}

// --- process ---------------------------------------------------------------

User read_user(const json& j, const std::string& at) {
  User u;
  u.uid = required_int<uint32_t>(j, "uid", at);
  u.gid = required_int<uint32_t>(j, "gid", at);
  u.umask = opt_int<uint32_t>(j, "umask", at);
  if (u.umask && *u.umask > 0777) bad(key_of(at, "umask"), "must be at most 0777 (511)");
  const json* gids = field(j, "additionalGids");
  if (gids) {
    std::string here = key_of(at, "additionalGids");
    if (!gids->is_array()) bad(here, "expected an array of integers");
    for (size_t i = 0; i < gids->size(); ++i)
      u.additional_gids.push_back(as_int<uint32_t>((*gids)[i], index_of(here, i)));
  }
  u.username = str(j, "username", at);
  return u;
}

std::vector<std::string> capability_set(const json& j, const char* key, const std::string& at) {
  auto caps = strings(j, key, at);
  for (size_t i = 0; i < caps.size(); ++i) {
    const auto& c = caps[i];
    bool ok =
        c.size() > 4 && c.compare(0, 4, "CAP_") == 0 &&
        std::all_of(c.begin() + 4, c.end(), [](char ch) { return (ch >= 'A' && ch <= 'Z') || ch == '_'; });
    if (!ok) bad(index_of(key_of(at, key), i), "not a capability name: \"" + c + "\" (want CAP_NAME)");
  }
  return caps;
}

Capabilities read_capabilities(const json& j, const std::string& at) {
  return {capability_set(j, "bounding", at), capability_set(j, "effective", at),
          capability_set(j, "permitted", at), capability_set(j, "inheritable", at),
          capability_set(j, "ambient", at)};
}

Process read_process(const json& j, const std::string& at) {
  Process p;
  p.terminal = boolean(j, "terminal", at);
  p.console_size = object<ConsoleSize>(j, "consoleSize", at, [](const json& c, const std::string& here) {
    return ConsoleSize{required_int<uint32_t>(c, "height", here), required_int<uint32_t>(c, "width", here)};
  });
  const json* user = field(j, "user");
  if (!user) bad(key_of(at, "user"), "required");
  expect_object(*user, key_of(at, "user"));
  p.user = read_user(*user, key_of(at, "user"));
  p.args = strings(j, "args", at);
  if (p.args.empty()) bad(key_of(at, "args"), "at least one entry is required");
  p.env = strings(j, "env", at);
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos || p.env[i][0] == '=')
      bad(index_of(key_of(at, "env"), i), "expected KEY=value, not \"" + p.env[i] + "\"");
  p.cwd = required_str(j, "cwd", at);
  require_absolute(p.cwd, key_of(at, "cwd"));
  p.capabilities = object<Capabilities>(j, "capabilities", at, read_capabilities);
  std::set<std::string> seen;
  each_object(j, "rlimits", at, [&](const json& r, const std::string& here) {
    Rlimit l{required_str(r, "type", here), required_int<uint64_t>(r, "hard", here),
             required_int<uint64_t>(r, "soft", here)};
    if (!known_rlimit(l.type)) bad(key_of(here, "type"), "unknown rlimit \"" + l.type + "\"");
    if (!seen.insert(l.type).second) bad(key_of(here, "type"), "\"" + l.type + "\" given twice");
    if (l.soft > l.hard) bad(here, "soft limit above the hard limit");
    p.rlimits.push_back(l);
  });
  p.no_new_privileges = boolean(j, "noNewPrivileges", at);
  p.oom_score_adj = opt_int<int>(j, "oomScoreAdj", at);
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    bad(key_of(at, "oomScoreAdj"), "must be within -1000..1000");
  return p;
}

// --- root, mounts, hooks ------------------------------------------------------

Root read_root(const json& j, const std::string& at) {
  Root r{required_str(j, "path", at), boolean(j, "readonly", at)};
  if (r.path.empty()) bad(key_of(at, "path"), "required");
  return r;
}

Mount read_mount(const json& j, const std::string& at) {
  Mount m;
  m.destination = required_str(j, "destination", at);
  require_absolute(m.destination, key_of(at, "destination"));
  m.type = str(j, "type", at);
  m.source = str(j, "source", at);
  m.options = strings(j, "options", at);
  return m;
}

Hook read_hook(const json& j, const std::string& at) {
  Hook h;
  h.path = required_str(j, "path", at);
  require_absolute(h.path, key_of(at, "path"));
  h.args = strings(j, "args", at);
  h.env = strings(j, "env", at);
  h.timeout = opt_int<int>(j, "timeout", at);
  if (h.timeout && *h.timeout <= 0) bad(key_of(at, "timeout"), "must be greater than zero");
  return h;
}

Hooks read_hooks(const json& j, const std::string& at) {
  Hooks h;
  auto list = [&](const char* key, std::vector<Hook>& out) {
    each_object(j, key, at,
                [&](const json& e, const std::string& here) { out.push_back(read_hook(e, here)); });
  };
  list("prestart", h.prestart);
  list("createRuntime", h.create_runtime);
  list("createContainer", h.create_container);
  list("startContainer", h.start_container);
  list("poststart", h.poststart);
  list("poststop", h.poststop);
  return h;
}

// --- linux ----------------------------------------------------------------------

IdMapping read_id_mapping(const json& j, const std::string& at) {
  IdMapping m{required_int<uint32_t>(j, "containerID", at), required_int<uint32_t>(j, "hostID", at),
              required_int<uint32_t>(j, "size", at)};
  if (m.size == 0) bad(key_of(at, "size"), "must be greater than zero");
  return m;
}

DeviceRule read_device_rule(const json& j, const std::string& at) {
  DeviceRule d;
  const json* allow = field(j, "allow");
  if (!allow) bad(key_of(at, "allow"), "required");
  d.allow = as_bool(*allow, key_of(at, "allow"));
  d.type = str(j, "type", at);
  if (!d.type.empty()) require_one_of(d.type, {"a", "c", "b"}, key_of(at, "type"), "device type");
  d.major = opt_int<int64_t>(j, "major", at);
  d.minor = opt_int<int64_t>(j, "minor", at);
  d.access = str(j, "access", at);
  for (char c : d.access)
    if (c != 'r' && c != 'w' && c != 'm')
      bad(key_of(at, "access"), "\"" + d.access + "\" is not a subset of \"rwm\"");
  return d;
}

Resources read_resources(const json& j, const std::string& at) {
  Resources r;
  each_object(j, "devices", at, [&](const json& e, const std::string& here) {
    r.devices.push_back(read_device_rule(e, here));
  });
  r.memory = object<Memory>(j, "memory", at, [](const json& m, const std::string& here) {
    Memory out{opt_int<int64_t>(m, "limit", here), opt_int<int64_t>(m, "reservation", here),
               opt_int<int64_t>(m, "swap", here), std::nullopt};
    if (const json* d = field(m, "disableOOMKiller"))
      out.disable_oom_killer = as_bool(*d, key_of(here, "disableOOMKiller"));
    return out;
  });
  r.cpu = object<Cpu>(j, "cpu", at, [](const json& c, const std::string& here) {
    Cpu out{opt_int<uint64_t>(c, "shares", here), opt_int<int64_t>(c, "quota", here),
            opt_int<uint64_t>(c, "period", here), str(c, "cpus", here), str(c, "mems", here)};
    if (out.period && *out.period == 0) bad(key_of(here, "period"), "must be greater than zero");
    return out;
  });
  r.pids = object<Pids>(j, "pids", at, [](const json& p, const std::string& here) {
    return Pids{required_int<int64_t>(p, "limit", here)};
  });
  return r;
}

const std::initializer_list<const char*> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY"};

Seccomp read_seccomp(const json& j, const std::string& at) {
  Seccomp s;
  s.default_action = required_str(j, "defaultAction", at);
  require_one_of(s.default_action, kSeccompActions, key_of(at, "defaultAction"), "seccomp action");
  s.default_errno_ret = opt_int<uint32_t>(j, "defaultErrnoRet", at);
  s.architectures = strings(j, "architectures", at);
  for (size_t i = 0; i < s.architectures.size(); ++i)
    require_one_of(
        s.architectures[i],
        {"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
         "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
         "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
         "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
         "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64"},
        index_of(key_of(at, "architectures"), i), "seccomp architecture");
  s.flags = strings(j, "flags", at);
  each_object(j, "syscalls", at, [&](const json& e, const std::string& here) {
    SeccompSyscall sc;
    sc.names = strings(e, "names", here);
    if (sc.names.empty()) bad(key_of(here, "names"), "at least one name is required");
    sc.action = required_str(e, "action", here);
    require_one_of(sc.action, kSeccompActions, key_of(here, "action"), "seccomp action");
    sc.errno_ret = opt_int<uint32_t>(e, "errnoRet", here);
    each_object(e, "args", here, [&](const json& a, const std::string& ahere) {
      SeccompArg arg{required_int<uint32_t>(a, "index", ahere), required_int<uint64_t>(a, "value", ahere),
                     opt_int<uint64_t>(a, "valueTwo", ahere).value_or(0), required_str(a, "op", ahere)};
      if (arg.index > 5) bad(key_of(ahere, "index"), "a syscall has arguments 0..5");
      require_one_of(arg.op,
                     {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                      "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"},
                     key_of(ahere, "op"), "seccomp operator");
      sc.args.push_back(arg);
    });
    s.syscalls.push_back(sc);
  });
  return s;
}

Linux read_linux(const json& j, const std::string& at) {
  Linux l;
  std::set<std::string> seen;
  each_object(j, "namespaces", at, [&](const json& e, const std::string& here) {
    Namespace ns{required_str(e, "type", here), str(e, "path", here)};
    if (!known_namespace(ns.type)) bad(key_of(here, "type"), "unknown namespace \"" + ns.type + "\"");
    if (!seen.insert(ns.type).second) bad(key_of(here, "type"), "namespace \"" + ns.type + "\" given twice");
    if (!ns.path.empty()) require_absolute(ns.path, key_of(here, "path"));
    l.namespaces.push_back(ns);
  });
  each_object(j, "uidMappings", at, [&](const json& e, const std::string& here) {
    l.uid_mappings.push_back(read_id_mapping(e, here));
  });
  each_object(j, "gidMappings", at, [&](const json& e, const std::string& here) {
    l.gid_mappings.push_back(read_id_mapping(e, here));
  });
  l.sysctl = string_map(j, "sysctl", at);
  l.resources = object<Resources>(j, "resources", at, read_resources);
  l.cgroups_path = str(j, "cgroupsPath", at);
  l.seccomp = object<Seccomp>(j, "seccomp", at, read_seccomp);
  l.rootfs_propagation = str(j, "rootfsPropagation", at);
  if (!l.rootfs_propagation.empty())
    require_one_of(
        l.rootfs_propagation,
        {"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"},
        key_of(at, "rootfsPropagation"), "propagation");
  l.masked_paths = strings(j, "maskedPaths", at);
  l.readonly_paths = strings(j, "readonlyPaths", at);
  for (size_t i = 0; i < l.masked_paths.size(); ++i)
    require_absolute(l.masked_paths[i], index_of(key_of(at, "maskedPaths"), i));
  for (size_t i = 0; i < l.readonly_paths.size(); ++i)
    require_absolute(l.readonly_paths[i], index_of(key_of(at, "readonlyPaths"), i));
  return l;
}

Spec read_spec(const json& j) {
  if (!j.is_object()) bad("", "expected a JSON object");
  Spec s;
  s.oci_version = required_str(j, "ociVersion", "");
  if (s.oci_version.rfind("1.", 0) != 0)
    bad("ociVersion", "unsupported version \"" + s.oci_version + "\" (want 1.x)");
  s.process = object<Process>(j, "process", "", read_process);
  s.root = object<Root>(j, "root", "", read_root);
  s.hostname = str(j, "hostname", "");
  s.domainname = str(j, "domainname", "");
  each_object(j, "mounts", "",
              [&](const json& e, const std::string& here) { s.mounts.push_back(read_mount(e, here)); });
  s.hooks = object<Hooks>(j, "hooks", "", read_hooks);
  s.annotations = string_map(j, "annotations", "");
  s.linux_ = object<Linux>(j, "linux", "", read_linux);
  if (!s.hostname.empty() && s.linux_ && !s.linux_->find_namespace("uts"))
    bad("hostname", "needs a new uts namespace (linux.namespaces has none)");
  return s;
}

[[noreturn]] void rethrow(const FieldError& e, const std::string& source) {
  throw Error(source + ": " + (e.at.empty() ? "" : e.at + ": ") + e.what);
}

// --- writing ---------------------------------------------------------------------

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
template <typename T>
void put(json& j, const char* key, const std::vector<T>& v) {
  if (!v.empty()) j[key] = v;
}

json hook_json(const Hook& h) {
  json j = {{"path", h.path}};
  put(j, "args", h.args);
  put(j, "env", h.env);
  put(j, "timeout", h.timeout);
  return j;
}

json hooks_json(const Hooks& h) {
  json j = json::object();
  auto list = [&](const char* key, const std::vector<Hook>& hooks) {
    for (const auto& e : hooks) j[key].push_back(hook_json(e));
  };
  list("prestart", h.prestart);
  list("createRuntime", h.create_runtime);
  list("createContainer", h.create_container);
  list("startContainer", h.start_container);
  list("poststart", h.poststart);
  list("poststop", h.poststop);
  return j;
}

json resources_json(const Resources& r) {
  json j = json::object();
  for (const auto& d : r.devices) {
    json e = {{"allow", d.allow}};
    put(e, "type", d.type);
    put(e, "major", d.major);
    put(e, "minor", d.minor);
    put(e, "access", d.access);
    j["devices"].push_back(std::move(e));
  }
  if (r.memory) {
    json m = json::object();
    put(m, "limit", r.memory->limit);
    put(m, "reservation", r.memory->reservation);
    put(m, "swap", r.memory->swap);
    put(m, "disableOOMKiller", r.memory->disable_oom_killer);
    j["memory"] = m;
  }
  if (r.cpu) {
    json c = json::object();
    put(c, "shares", r.cpu->shares);
    put(c, "quota", r.cpu->quota);
    put(c, "period", r.cpu->period);
    put(c, "cpus", r.cpu->cpus);
    put(c, "mems", r.cpu->mems);
    j["cpu"] = c;
  }
  if (r.pids) j["pids"] = {{"limit", r.pids->limit}};
  return j;
}

json seccomp_json(const Seccomp& s) {
  json j = {{"defaultAction", s.default_action}};
  put(j, "defaultErrnoRet", s.default_errno_ret);
  put(j, "architectures", s.architectures);
  put(j, "flags", s.flags);
  for (const auto& sc : s.syscalls) {
    // Member by member: a braced list would copy the (long) names array again.
    json e = json::object();
    e["names"] = sc.names;
    e["action"] = sc.action;
    put(e, "errnoRet", sc.errno_ret);
    for (const auto& a : sc.args) {
      json aj = {{"index", a.index}, {"value", a.value}, {"op", a.op}};
      if (a.value_two) aj["valueTwo"] = a.value_two;
      e["args"].push_back(std::move(aj));
    }
    j["syscalls"].push_back(std::move(e));
  }
  return j;
}

json id_mappings_json(const std::vector<IdMapping>& maps) {
  json j = json::array();
  for (const auto& m : maps)
    j.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  return j;
}

json linux_json(const Linux& l) {
  json j = json::object();
  for (const auto& ns : l.namespaces) {
    json e = {{"type", ns.type}};
    put(e, "path", ns.path);
    j["namespaces"].push_back(std::move(e));
  }
  if (!l.uid_mappings.empty()) j["uidMappings"] = id_mappings_json(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = id_mappings_json(l.gid_mappings);
  if (!l.sysctl.empty()) j["sysctl"] = l.sysctl;
  if (l.resources) j["resources"] = resources_json(*l.resources);
  put(j, "cgroupsPath", l.cgroups_path);
  if (l.seccomp) j["seccomp"] = seccomp_json(*l.seccomp);
  put(j, "rootfsPropagation", l.rootfs_propagation);
  put(j, "maskedPaths", l.masked_paths);
  put(j, "readonlyPaths", l.readonly_paths);
  return j;
}

}  // namespace

bool known_namespace(const std::string& type) {
  for (const char* t : {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"})
    if (type == t) return true;
  return false;
}

bool known_rlimit(const std::string& type) {
  for (const char* t :
       {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
        "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"})
    if (type == t) return true;
  return false;
}

const Namespace* Linux::find_namespace(const std::string& type) const {
  for (const auto& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

Spec parse_spec(const json& j, const std::string& source) {
  try {
    return read_spec(j);
  } catch (const FieldError& e) {
    rethrow(e, source);
  }
}

Spec parse_spec_text(const std::string& text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(source + ": not valid JSON");
  return parse_spec(j, source);
}

Spec read_bundle_spec(const std::filesystem::path& bundle) {
  auto path = bundle / "config.json";
  return parse_spec_text(fs::read_file(path), path.string());
}

Process parse_process(const json& j, const std::string& source) {
  try {
    if (!j.is_object()) bad("", "expected a JSON object");
    return read_process(j, "");
  } catch (const FieldError& e) {
    rethrow(e, source);
  }
}

json to_json(const Seccomp& s) { return seccomp_json(s); }

json to_json(const Process& p) {
  json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
  put(user, "umask", p.user.umask);
  put(user, "additionalGids", p.user.additional_gids);
  put(user, "username", p.user.username);
  json j = {{"terminal", p.terminal}, {"user", user}, {"args", p.args}, {"cwd", p.cwd}};
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  put(j, "env", p.env);
  if (p.capabilities) {
    json c = json::object();
    put(c, "bounding", p.capabilities->bounding);
    put(c, "effective", p.capabilities->effective);
    put(c, "permitted", p.capabilities->permitted);
    put(c, "inheritable", p.capabilities->inheritable);
    put(c, "ambient", p.capabilities->ambient);
    j["capabilities"] = c;
  }
  for (const auto& r : p.rlimits)
    j["rlimits"].push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  put(j, "oomScoreAdj", p.oom_score_adj);
  return j;
}

json to_json(const Spec& s) {
  json j = {{"ociVersion", s.oci_version}};
  if (s.process) j["process"] = to_json(*s.process);
  if (s.root) {
    j["root"] = {{"path", s.root->path}};
    if (s.root->readonly) j["root"]["readonly"] = true;
  }
  put(j, "hostname", s.hostname);
  put(j, "domainname", s.domainname);
  for (const auto& m : s.mounts) {
    json e = {{"destination", m.destination}};
    put(e, "type", m.type);
    put(e, "source", m.source);
    put(e, "options", m.options);
    j["mounts"].push_back(std::move(e));
  }
  if (s.hooks) j["hooks"] = hooks_json(*s.hooks);
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  if (s.linux_) j["linux"] = linux_json(*s.linux_);
  return j;
}

void to_json(json& j, const Spec& s) { j = to_json(s); }
void from_json(const json& j, Spec& s) { s = parse_spec(j); }

}  // namespace mctr::oci
