// Capabilities: which of root's powers the container keeps.
//
// A process has five capability sets. The kernel checks "effective"; a
// process can only raise what is "permitted"; "inheritable" and "ambient"
// decide what survives execve; the "bounding" set is the ceiling that no
// later execve (even of a setuid-root or file-capability binary) can exceed.
// Docker keeps 14 capabilities in bounding/permitted/effective and leaves
// inheritable and ambient empty.
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "linux/security/security.h"
#include "util/error.h"

namespace mctr::security {

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> caps = {
      "CHOWN",  "DAC_OVERRIDE", "FSETID",  "FOWNER",           "MKNOD",      "NET_RAW", "SETGID",
      "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",    "AUDIT_WRITE",
  };
  return caps;
}

static std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// libcap names are "cap_chown"; we use Docker's spelling "CHOWN".
static std::string name_of(cap_value_t v) {
  char* n = cap_to_name(v);
  std::string s = n ? n : std::to_string(v);
  cap_free(n);
  s = upper(s);
  if (s.rfind("CAP_", 0) == 0) s = s.substr(4);
  return s;
}

// The number of capabilities of the running kernel (/proc/sys/kernel/cap_last_cap + 1).
static cap_value_t kernel_cap_count() { return static_cast<cap_value_t>(cap_max_bits()); }

// "NET_ADMIN" -> CAP_NET_ADMIN's number, or -1 when libcap does not know it.
static cap_value_t lookup(const std::string& upper_name) {
  std::string lower = "cap_" + upper_name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  cap_value_t v;
  return cap_from_name(lower.c_str(), &v) == 0 ? v : -1;
}

static cap_value_t value_of(const std::string& name) { return lookup(normalize_capability(name)); }

// Like Docker, "all" means all that this process can still give: a
// capability missing from our own bounding set (a nested or sandboxed host)
// could never be raised, and capset would fail.
std::vector<std::string> all_capabilities() {
  std::vector<std::string> out;
  for (cap_value_t v = 0; v < kernel_cap_count(); ++v)
    if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) == 1) out.push_back(name_of(v));
  return out;
}

std::string normalize_capability(const std::string& name) {
  std::string s = upper(name);
  if (s.rfind("CAP_", 0) == 0) s = s.substr(4);
  if (s.empty() || lookup(s) < 0) throw Error("unknown capability: " + name);
  return s;
}

static bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "ALL" stays "ALL"; every other name is checked and normalized.
static std::vector<std::string> normalize_list(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string s = upper(n) == "ALL" ? "ALL" : normalize_capability(n);
    if (!contains(out, s)) out.push_back(s);
  }
  return out;
}

// Docker's TweakCapabilities (moby oci/caps).
std::vector<std::string> resolve_capabilities(const Options& o) {
  if (o.privileged) return all_capabilities();
  auto add = normalize_list(o.cap_add);
  auto drop = normalize_list(o.cap_drop);
  std::vector<std::string> keep;
  if (contains(add, "ALL")) {
    for (const auto& c : all_capabilities())
      if (!contains(drop, c)) keep.push_back(c);
  } else if (contains(drop, "ALL")) {
    keep = add;
  } else {
    for (const auto& c : default_capabilities())
      if (!contains(drop, c)) keep.push_back(c);
    for (const auto& c : add)
      if (!contains(keep, c)) keep.push_back(c);
  }
  return keep;
}

void keep_capabilities_across_setuid() {
  check_sys(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)");
}

// Make every permitted capability effective: dropping from the bounding set
// needs CAP_SETPCAP in the effective set (cleared by setuid even with KEEPCAPS).
static void raise_effective_to_permitted() {
  cap_t caps = cap_get_proc();
  if (!caps) throw_sys("cap_get_proc");
  for (cap_value_t v = 0; v < kernel_cap_count(); ++v) {
    cap_flag_value_t permitted = CAP_CLEAR;
    cap_get_flag(caps, v, CAP_PERMITTED, &permitted);
    cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, permitted);
  }
  int rc = cap_set_proc(caps);
  int err = errno;
  cap_free(caps);
  if (rc != 0) throw SysError("capset", "", err);
}

void drop_capabilities(const std::vector<std::string>& keep) {
  std::set<cap_value_t> kept;
  for (const auto& name : keep) kept.insert(value_of(name));

  raise_effective_to_permitted();

  // 1. Bounding set: one prctl per capability we do not keep.
  for (cap_value_t v = 0; v < kernel_cap_count(); ++v) {
    if (kept.count(v)) continue;
    if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) != 0) throw SysError("prctl(PR_CAPBSET_DROP)", name_of(v), errno);
  }

  // 2. Ambient set: emptied, so a non-root execve gets no capabilities for free.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw_sys("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");

  // 3. Effective and permitted: exactly the kept list (one capset).
  //    Inheritable stays empty, as in Docker since 20.10.14 (CVE-2022-24769:
  //    a non-empty inheritable set let file-inheritable binaries gain caps
  //    after a non-root exec).
  cap_t caps = cap_init();  // all three sets empty
  if (!caps) throw_sys("cap_init");
  std::vector<cap_value_t> list(kept.begin(), kept.end());
  int n = static_cast<int>(list.size());
  if (n > 0) {
    cap_set_flag(caps, CAP_EFFECTIVE, n, list.data(), CAP_SET);
    cap_set_flag(caps, CAP_PERMITTED, n, list.data(), CAP_SET);
  }
  int rc = cap_set_proc(caps);
  int err = errno;
  cap_free(caps);
  if (rc != 0) throw SysError("capset", "", err);
}

void set_no_new_privs() {
  // After this, execve can never grant privileges (setuid bits and file
  // capabilities are ignored), and seccomp may be loaded without CAP_SYS_ADMIN.
  check_sys(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace mctr::security
