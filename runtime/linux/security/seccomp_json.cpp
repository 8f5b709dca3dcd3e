// Reading a seccomp profile from JSON, in Docker's format (which is the OCI
// runtime-spec "linux.seccomp" object plus Docker's archMap and
// includes/excludes):
//
//   {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//    "architectures": ["SCMP_ARCH_X86_64"],
//    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
//                  "args": [{"index": 0, "value": 1, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
//                  "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
#include <seccomp.h>

#include <nlohmann/json.hpp>

#include "linux/security/seccomp_profile.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::security {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw Error("seccomp profile: " + where + ": " + what);
}

const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string get_string(const json& v, const std::string& where) {
  if (!v.is_string()) bad(where, "expected a string");
  return v.get<std::string>();
}

uint64_t get_uint(const json& v, const std::string& where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    bad(where, "expected a non-negative integer");
  return v.get<uint64_t>();
}

std::vector<std::string> get_strings(const json& obj, const char* key, const std::string& where) {
  std::vector<std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  if (!v->is_array()) bad(where + "." + key, "expected an array of strings");
  for (const auto& e : *v) out.push_back(get_string(e, where + "." + key));
  return out;
}

Action parse_action(const std::string& s, const std::string& where) {
  if (s == "SCMP_ACT_ALLOW") return Action::Allow;
  if (s == "SCMP_ACT_ERRNO") return Action::Errno;
  if (s == "SCMP_ACT_KILL" || s == "SCMP_ACT_KILL_THREAD") return Action::KillThread;
  if (s == "SCMP_ACT_KILL_PROCESS") return Action::KillProcess;
  if (s == "SCMP_ACT_TRAP") return Action::Trap;
  if (s == "SCMP_ACT_TRACE") return Action::Trace;
  if (s == "SCMP_ACT_LOG") return Action::Log;
  bad(where, "unsupported action \"" + s + "\"");
}

Op parse_op(const std::string& s, const std::string& where) {
  if (s == "SCMP_CMP_NE") return Op::NotEqual;
  if (s == "SCMP_CMP_LT") return Op::Less;
  if (s == "SCMP_CMP_LE") return Op::LessEqual;
  if (s == "SCMP_CMP_EQ") return Op::Equal;
  if (s == "SCMP_CMP_GE") return Op::GreaterEqual;
  if (s == "SCMP_CMP_GT") return Op::Greater;
  if (s == "SCMP_CMP_MASKED_EQ") return Op::MaskedEqual;
  bad(where, "unknown operator \"" + s + "\"");
}

// "SCMP_ARCH_X86_64" -> "x86_64" (libseccomp's name), checked.
std::string parse_arch(const std::string& s, const std::string& where) {
  const std::string prefix = "SCMP_ARCH_";
  if (s.rfind(prefix, 0) != 0) bad(where, "unknown architecture \"" + s + "\"");
  std::string name = s.substr(prefix.size());
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (seccomp_arch_resolve_name(name.c_str()) == 0) bad(where, "unknown architecture \"" + s + "\"");
  return name;
}

Condition parse_condition(const json& obj, const std::string& where) {
  Condition c;
  if (!obj.is_object()) bad(where, "expected an object");
  c.caps = get_strings(obj, "caps", where);
  c.arches = get_strings(obj, "arches", where);
  if (const json* k = field(obj, "minKernel")) c.min_kernel = get_string(*k, where + ".minKernel");
  return c;
}

ArgCheck parse_arg(const json& a, const std::string& where) {
  if (!a.is_object()) bad(where, "expected an object");
  ArgCheck c;
  const json* index = field(a, "index");
  const json* op = field(a, "op");
  if (!index) bad(where, "missing \"index\"");
  if (!op) bad(where, "missing \"op\"");
  uint64_t i = get_uint(*index, where + ".index");
  if (i > 5) bad(where + ".index", "must be 0..5");
  c.index = static_cast<unsigned>(i);
  if (const json* v = field(a, "value")) c.value = get_uint(*v, where + ".value");
  if (const json* v = field(a, "valueTwo")) c.value_two = get_uint(*v, where + ".valueTwo");
  c.op = parse_op(get_string(*op, where + ".op"), where + ".op");
  return c;
}

SyscallRule parse_syscall(const json& s, const std::string& where) {
  if (!s.is_object()) bad(where, "expected an object");
  SyscallRule r;
  r.names = get_strings(s, "names", where);
  if (const json* name = field(s, "name")) {
    if (!r.names.empty()) bad(where, "both \"name\" and \"names\" given");
    r.names.push_back(get_string(*name, where + ".name"));
  }
  if (r.names.empty()) bad(where, "no syscall \"names\"");
  const json* action = field(s, "action");
  if (!action) bad(where, "missing \"action\"");
  r.action = parse_action(get_string(*action, where + ".action"), where + ".action");
  if (const json* e = field(s, "errnoRet")) r.errno_ret = static_cast<int>(get_uint(*e, where + ".errnoRet"));
  if (const json* args = field(s, "args")) {
    if (!args->is_array()) bad(where + ".args", "expected an array");
    for (size_t i = 0; i < args->size(); ++i)
      r.args.push_back(parse_arg((*args)[i], where + ".args[" + std::to_string(i) + "]"));
  }
  if (const json* in = field(s, "includes")) r.includes = parse_condition(*in, where + ".includes");
  if (const json* ex = field(s, "excludes")) r.excludes = parse_condition(*ex, where + ".excludes");
  return r;
}

// Docker's archMap: pick the entry for this machine and its sub-architectures.
std::vector<std::string> parse_arch_map(const json& map) {
  if (!map.is_array()) bad("archMap", "expected an array");
  std::vector<std::string> out;
  for (const auto& entry : map) {
    if (!entry.is_object() || !field(entry, "architecture")) bad("archMap", "entry without \"architecture\"");
    std::string arch = parse_arch(get_string(entry["architecture"], "archMap"), "archMap");
    if (seccomp_arch_resolve_name(arch.c_str()) != seccomp_arch_native()) continue;
    out.push_back(arch);
    for (const auto& sub : get_strings(entry, "subArchitectures", "archMap"))
      out.push_back(parse_arch(sub, "archMap.subArchitectures"));
  }
  return out;
}

}  // namespace

Profile parse_profile_json(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("seccomp profile: invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) bad("top level", "expected an object");

  Profile p;
  const json* def = field(doc, "defaultAction");
  if (!def) bad("top level", "missing \"defaultAction\"");
  p.default_action = parse_action(get_string(*def, "defaultAction"), "defaultAction");
  if (const json* e = field(doc, "defaultErrnoRet"))
    p.default_errno = static_cast<int>(get_uint(*e, "defaultErrnoRet"));

  const json* arches = field(doc, "architectures");
  const json* arch_map = field(doc, "archMap");
  if (arches && arch_map && !arches->empty() && !arch_map->empty())
    bad("top level", "both \"architectures\" and \"archMap\" given");
  for (const auto& a : get_strings(doc, "architectures", "architectures"))
    p.architectures.push_back(parse_arch(a, "architectures"));
  if (arch_map) p.architectures = parse_arch_map(*arch_map);

  if (const json* calls = field(doc, "syscalls")) {
    if (!calls->is_array()) bad("syscalls", "expected an array");
    for (size_t i = 0; i < calls->size(); ++i)
      p.syscalls.push_back(parse_syscall((*calls)[i], "syscalls[" + std::to_string(i) + "]"));
  }
  return p;
}

Profile load_profile_file(const std::filesystem::path& path) {
  std::string text = fs::read_file(path);
  try {
    return parse_profile_json(text);
  } catch (const SysError&) {
    throw;
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

}  // namespace mctr::security
