#include "linux/proc.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "util/fs.h"

namespace mctr::linux_proc {

// /proc/PID/stat is "pid (comm) state ppid ...": comm may hold spaces and
// parentheses, so parse from the last ')'.
static bool read_stat(pid_t pid, char& state, uint64_t& start) {
  if (pid <= 0) return false;
  std::optional<std::string> s;
  try {
    s = fs::read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
  } catch (...) {
    return false;
  }
  if (!s) return false;
  auto rp = s->rfind(')');
  if (rp == std::string::npos || rp + 2 >= s->size()) return false;
  const char* p = s->c_str() + rp + 2;
  state = *p;
  // Fields after comm: 3=state ... 22=starttime, i.e. the 20th field from here.
  int field = 3;
  while (*p && field < 22) {
    if (*p == ' ') ++field;
    ++p;
  }
  start = std::strtoull(p, nullptr, 10);
  return true;
}

uint64_t start_time(pid_t pid) {
  char state;
  uint64_t start;
  return read_stat(pid, state, start) ? start : 0;
}

bool alive(pid_t pid, uint64_t start) {
  char state;
  uint64_t st;
  if (!read_stat(pid, state, st)) return false;
  if (state == 'Z' || state == 'X') return false;
  return start == 0 || st == start;
}

}  // namespace mctr::linux_proc
