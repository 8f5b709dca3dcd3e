#include "linux/cgroup/parse.h"

#include <sstream>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::cgroup {

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t value = 0;
    if (fields >> key >> value) out[key] = value;
  }
  return out;
}

uint64_t parse_u64(const std::string& text) {
  std::string t = fs::trim(text);
  try {
    size_t used = 0;
    uint64_t v = std::stoull(t, &used);
    if (used == t.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error("cgroup: expected a number, got '" + t + "'");
}

std::optional<uint64_t> parse_limit(const std::string& text) {
  if (fs::trim(text) == "max") return std::nullopt;
  return parse_u64(text);
}

IoBytes parse_io_stat(const std::string& text) {
  IoBytes io;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string device, kv;
    fields >> device;
    while (fields >> kv) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string key = kv.substr(0, eq);
      uint64_t value = std::stoull(kv.substr(eq + 1));
      if (key == "rbytes") io.read += value;
      if (key == "wbytes") io.write += value;
    }
  }
  return io;
}

IoBytes parse_blkio_service_bytes(const std::string& text) {
  IoBytes io;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string device, op;
    uint64_t value = 0;
    if (!(fields >> device >> op >> value)) continue;  // the "Total N" line has 2 fields
    if (op == "Read") io.read += value;
    if (op == "Write") io.write += value;
  }
  return io;
}

uint64_t parse_proc_stat_cpu_ns(const std::string& text, long clock_ticks) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu ", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    // Like moby's getSystemCPUUsage: user nice system idle iowait irq softirq.
    uint64_t total = 0, v = 0;
    for (int i = 0; i < 7 && (fields >> v); ++i) total += v;
    return total * 1'000'000'000ULL / static_cast<uint64_t>(clock_ticks);
  }
  throw Error("/proc/stat: no 'cpu' line");
}

uint64_t parse_meminfo_total(const std::string& text) {
  std::istringstream in(text);
  std::string key, unit;
  uint64_t value = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (fields >> key >> value >> unit && key == "MemTotal:") return unit == "kB" ? value * 1024 : value;
  }
  throw Error("/proc/meminfo: no MemTotal line");
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

}  // namespace mctr::cgroup
