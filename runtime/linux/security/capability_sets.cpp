#include "linux/security/capability_sets.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <set>

#include "util/error.h"

namespace mctr::security {

namespace {

// "CAP_NET_ADMIN" -> its number; -1 when unknown here.
cap_value_t number_of(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  cap_value_t v;
  if (cap_from_name(lower.c_str(), &v) != 0 || v >= static_cast<cap_value_t>(cap_max_bits())) return -1;
  return v;
}

std::set<cap_value_t> numbers_of(const std::vector<std::string>& names, std::vector<std::string>& unknown) {
  std::set<cap_value_t> out;
  for (const auto& n : names) {
    cap_value_t v = number_of(n);
    if (v < 0) {
      if (std::find(unknown.begin(), unknown.end(), n) == unknown.end()) unknown.push_back(n);
      continue;
    }
    out.insert(v);
  }
  return out;
}

void set_proc(const std::set<cap_value_t>& effective, const std::set<cap_value_t>& permitted,
              const std::set<cap_value_t>& inheritable) {
  cap_t caps = cap_init();
  if (!caps) throw_sys("cap_init");
  auto put = [&](const std::set<cap_value_t>& s, cap_flag_t flag) {
    std::vector<cap_value_t> list(s.begin(), s.end());
    if (!list.empty()) cap_set_flag(caps, flag, static_cast<int>(list.size()), list.data(), CAP_SET);
  };
  put(effective, CAP_EFFECTIVE);
  put(permitted, CAP_PERMITTED);
  put(inheritable, CAP_INHERITABLE);
  int rc = cap_set_proc(caps);
  int err = errno;
  cap_free(caps);
  if (rc != 0) throw SysError("capset", "", err);
}

}  // namespace

std::vector<std::string> apply_capability_sets(const CapabilitySets& sets) {
  std::vector<std::string> unknown;
  const auto bounding = numbers_of(sets.bounding, unknown);
  const auto effective = numbers_of(sets.effective, unknown);
  const auto permitted = numbers_of(sets.permitted, unknown);
  const auto inheritable = numbers_of(sets.inheritable, unknown);
  const auto ambient = numbers_of(sets.ambient, unknown);
  const auto count = static_cast<cap_value_t>(cap_max_bits());

  // Dropping from the bounding set needs CAP_SETPCAP effective: make all we
  // still have effective first (a setuid with KEEPCAPS cleared the effective set).
  std::set<cap_value_t> now;
  for (cap_value_t v = 0; v < count; ++v)
    if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) == 1) now.insert(v);
  cap_t cur = cap_get_proc();
  if (!cur) throw_sys("cap_get_proc");
  std::set<cap_value_t> held;
  for (cap_value_t v = 0; v < count; ++v) {
    cap_flag_value_t f = CAP_CLEAR;
    cap_get_flag(cur, v, CAP_PERMITTED, &f);
    if (f == CAP_SET) held.insert(v);
  }
  cap_free(cur);
  set_proc(held, held, {});

  for (cap_value_t v = 0; v < count; ++v)
    if (!bounding.count(v) && now.count(v) && prctl(PR_CAPBSET_DROP, v, 0, 0, 0) != 0)
      throw SysError("prctl(PR_CAPBSET_DROP)", std::to_string(v), errno);

  set_proc(effective, permitted, inheritable);

  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw_sys("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  // The kernel takes an ambient capability only when it is both permitted
  // and inheritable; runc ignores the rest the same way.
  for (cap_value_t v : ambient)
    if (permitted.count(v) && inheritable.count(v))
      check_sys(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0), "prctl(PR_CAP_AMBIENT_RAISE)");
  return unknown;
}

}  // namespace mctr::security
