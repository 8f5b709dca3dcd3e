// Parsers for the text formats of cgroup files. Pure functions on strings, so
// they are unit-tested on fake contents (see tests/unit/cgroup/parse_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mctr::cgroup {

// "key value" lines: memory.stat, cpu.stat, memory.events, memory.oom_control.
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);

// A single number, or "max" (v2) for "no limit" -> nullopt.
std::optional<uint64_t> parse_limit(const std::string& text);

// One number (memory.current, cpuacct.usage, pids.current ...).
uint64_t parse_u64(const std::string& text);

struct IoBytes {
  uint64_t read = 0, write = 0;
};

// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", one line per device.
IoBytes parse_io_stat(const std::string& text);

// v1 blkio.*io_service_bytes*: "8:0 Read 4096" / "8:0 Write 0" / ... / "Total 4096".
IoBytes parse_blkio_service_bytes(const std::string& text);

// Docker's "system usage" from /proc/stat: the first "cpu " line's user, nice,
// system, idle, iowait, irq and softirq jiffies, in nanoseconds.
uint64_t parse_proc_stat_cpu_ns(const std::string& text, long clock_ticks);

// /proc/meminfo "MemTotal:  24684544 kB" -> bytes.
uint64_t parse_meminfo_total(const std::string& text);

// --cpu-shares (v1, 2..262144) -> cpu.weight (v2, 1..10000), as runc converts.
uint64_t shares_to_weight(uint64_t shares);

}  // namespace mctr::cgroup
