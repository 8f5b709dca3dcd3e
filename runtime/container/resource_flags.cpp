#include "container/resource_flags.h"

#include <cmath>
#include <string_view>

#include "util/error.h"

namespace mctr::container {

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

int64_t parse_size(const std::string& s, unsigned unit) {
  const std::string bad = "invalid size: '" + s.substr(0, 64) + "'";
  // ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ ; std::stod alone would also
  // take "nan", "inf", "0x10" and "1e30".
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == 0) throw Error(bad);
  if (i < s.size() && s[i] == '.') {
    size_t frac = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == frac) throw Error(bad);
  }
  long double v = std::stold(s.substr(0, i));
  if (i < s.size() && s[i] == ' ') ++i;
  long double mult = 1;
  if (i < s.size()) {
    std::string_view units = "kmgtp";
    auto u = units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
    if (u != std::string_view::npos) {
      for (size_t k = 0; k <= u; ++k) mult *= unit;
      ++i;
    }
  }
  if (i < s.size() && (s[i] == 'i' || s[i] == 'I')) ++i;
  if (i < s.size() && (s[i] == 'b' || s[i] == 'B')) ++i;
  if (i != s.size()) throw Error(bad);
  long double bytes = v * mult;
  // 2^63 itself does not fit; a cast of a larger double to int64 is undefined
  // (it gave INT64_MIN, then "minimum memory limit allowed is 6MB").
  if (!(bytes < 9223372036854775808.0L)) throw Error(bad + ": too large");
  return static_cast<int64_t>(bytes);
}

int64_t parse_bytes(const std::string& s) { return parse_size(s, 1024); }

static int64_t parse_flag_bytes(const char* flag, const std::string& s) {
  try {
    return parse_bytes(s);
  } catch (const Error& e) {
    throw Error(std::string("invalid argument for ") + flag + ": " + e.what());
  }
}

cgroup::Resources parse_resource_flags(const ResourceFlags& f, long online_cpus) {
  cgroup::Resources r;
  if (f.memory) r.memory = parse_flag_bytes("--memory", *f.memory);
  if (f.memory_swap)
    r.memory_swap = *f.memory_swap == "-1" ? -1 : parse_flag_bytes("--memory-swap", *f.memory_swap);
  if (f.cpus && *f.cpus != 0) {
    // Also refuses nan and inf (a NaN compares false both ways). Below 0.01
    // the CFS quota would be under the kernel's 1 ms minimum (EINVAL).
    if (!(*f.cpus >= 0.01 && *f.cpus <= static_cast<double>(online_cpus))) {
      std::string n = std::to_string(online_cpus);
      throw Error("Range of CPUs is from 0.01 to " + n + ".00, as there are only " + n + " CPUs available");
    }
    r.cpus = *f.cpus;
  }
  if (f.cpu_shares) r.cpu_shares = *f.cpu_shares;
  if (f.cpuset_cpus && !f.cpuset_cpus->empty()) r.cpuset_cpus = *f.cpuset_cpus;
  if (f.cpuset_mems && !f.cpuset_mems->empty()) r.cpuset_mems = *f.cpuset_mems;
  if (f.pids_limit) r.pids_limit = *f.pids_limit <= 0 ? -1 : *f.pids_limit;
  return r;
}

cgroup::Resources merge_resources(cgroup::Resources base, const cgroup::Resources& change) {
  if (change.memory) base.memory = change.memory;
  if (change.memory_swap) base.memory_swap = change.memory_swap;
  if (change.cpus) base.cpus = change.cpus;
  if (change.cpu_shares) base.cpu_shares = change.cpu_shares;
  if (change.cpuset_cpus) base.cpuset_cpus = change.cpuset_cpus;
  if (change.cpuset_mems) base.cpuset_mems = change.cpuset_mems;
  if (change.pids_limit) base.pids_limit = change.pids_limit;
  return base;
}

void check_resources(const cgroup::Resources& r) {
  if (r.memory && *r.memory < 6 * 1024 * 1024) throw Error("minimum memory limit allowed is 6MB");
  if (r.memory_swap) {
    if (!r.memory) throw Error("you should always set the memory limit when using the memory swap limit");
    if (*r.memory_swap != -1 && *r.memory_swap < *r.memory)
      throw Error("minimum memoryswap limit should be larger than memory limit");
  }
}

}  // namespace mctr::container
