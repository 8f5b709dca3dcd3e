#include "util/explain.h"

#include <unistd.h>

namespace mctr::explain {

static int g_fd = -1;

void enable(int fd) { g_fd = fd; }
bool on() { return g_fd >= 0; }
int fd() { return g_fd; }

void step(const std::string& syscall, const std::string& replay) {
  if (g_fd < 0) return;
  std::string name = syscall;
  if (name.size() < 16) name.resize(16, ' ');
  std::string line = "[explain] " + name + " " + replay + "\n";
  // One write() per line: lines of the supervisor and the init never mix.
  ssize_t n = ::write(g_fd, line.data(), line.size());
  (void)n;
}

std::string sh_quote(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t\n'\"$`\\|&;<>(){}*?!#~") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace mctr::explain
