#include "util/explain.h"

#include <unistd.h>

#include "util/fs.h"
#include "util/sigpipe.h"

namespace mctr::explain {

static int g_fd = -1;
static int g_records_fd = -1;
// Per thread: a CLONE_VM child shares our memory but runs on the TLS of the
// thread that cloned it, not on that of the supervisor's second thread.
static thread_local Place g_place = Place::kHost;
static pid_t g_netns_pid = 0;

void enable(int fd) { g_fd = fd; }
bool on() { return g_fd >= 0 || g_records_fd >= 0; }
int fd() { return g_fd; }
void enable_records(int fd) { g_records_fd = fd; }
int records_fd() { return g_records_fd; }
void set_place(Place p) { g_place = p; }
void set_netns_pid(pid_t pid) { g_netns_pid = pid; }

// One write() per line (or record): those of the supervisor and the init never mix.
// A reader that left (`--explain 2>&1 | grep -q clone3`) must not kill a run
// halfway, after `create` and before the start: the trace just ends there.
static void write_all_at_once(int fd, const std::string& s) {
  SigpipeBlocked reader_may_be_gone;
  ssize_t n = ::write(fd, s.data(), s.size());
  (void)n;
}

static void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// A record: place, kind, syscall and command, tab-separated, on one line
// (backslash, tab and newline escaped): read back by explain_script.
static std::string record(Kind kind, const std::string& syscall, const std::string& replay) {
  std::string line{static_cast<char>(g_place), '\t', static_cast<char>(kind), '\t'};
  line += syscall + "\t";
  for (char c : replay) {
    if (c == '\\')
      line += "\\\\";
    else if (c == '\n')
      line += "\\n";
    else if (c == '\t')
      line += "\\t";
    else
      line += c;
  }
  return line + "\n";
}

void step(const std::string& syscall, const std::string& replay) { step(Kind::kCommand, syscall, replay); }

void step(Kind kind, const std::string& syscall, const std::string& replay) {
  if (g_records_fd >= 0) write_all_at_once(g_records_fd, record(kind, syscall, replay));
  if (g_fd < 0) return;
  std::string shown = replay;
  if (g_netns_pid > 0) {
    replace_all(shown, kNetnsPath, "/proc/" + std::to_string(g_netns_pid) + "/ns/net");
    replace_all(shown, kNetns, std::to_string(g_netns_pid));
  }
  std::string name = syscall;
  if (name.size() < 16) name.resize(16, ' ');
  // Every line of a command that spans several (a heredoc) gets the prefix.
  replace_all(shown, "\n", "\n[explain]                  ");
  write_all_at_once(g_fd, "[explain] " + name + " " + shown + "\n");
}

void file_written(const std::filesystem::path& p) {
  if (!on()) return;
  step("write(2)", "printf %s " + sh_quote(fs::read_file(p)) + " > " + sh_quote(p.string()));
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
