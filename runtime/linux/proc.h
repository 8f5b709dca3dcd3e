// Facts about host processes read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace mctr::linux_proc {

// Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat),
// or 0 if there is no such process. Together with the pid it identifies a
// process even after the pid number is reused.
uint64_t start_time(pid_t pid);

// True if `pid` exists, is not a zombie, and (when start != 0) started at `start`.
bool alive(pid_t pid, uint64_t start = 0);

}  // namespace mctr::linux_proc
