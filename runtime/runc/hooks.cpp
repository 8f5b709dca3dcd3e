#include "runc/hooks.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "runc/log.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::runc {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// "exit status 3", "killed by signal 9".
std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "killed by signal " + std::to_string(WTERMSIG(status));
}

void run_hook(const oci::Hook& h, const std::string& state_json) {
  int p[2];
  check_sys(::pipe2(p, O_CLOEXEC), "pipe2");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  auto argv = c_strings(args);
  auto envp = c_strings(h.env);
  pid_t pid = check_sys(::fork(), "fork");
  if (pid == 0) {
    ::dup2(rd.get(), 0);
    if (::isatty(1) == 0) ::dup2(2, 1);  // its output is the runtime's diagnostics, never the container's
    ::execve(h.path.c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "exec %s: %s\n", h.path.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  rd.reset();
  // A hook that does not read its stdin gets EPIPE here, which is fine.
  ::signal(SIGPIPE, SIG_IGN);
  const char* data = state_json.data();
  size_t left = state_json.size();
  while (left > 0) {
    ssize_t n = ::write(wr.get(), data, left);
    if (n <= 0) break;
    data += n;
    left -= static_cast<size_t>(n);
  }
  wr.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(h.timeout.value_or(0));
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, h.timeout ? WNOHANG : 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) throw_sys("waitpid", h.path);
    if (h.timeout && std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw Error("timeout after " + std::to_string(*h.timeout) + " seconds");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error(describe_status(status));
}

}  // namespace

void run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* phase) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    try {
      run_hook(hooks[i], state_json);
    } catch (const Error& e) {
      throw Error(std::string(phase) + " hook #" + std::to_string(i) + " (" + hooks[i].path +
                  "): " + e.what());
    }
  }
}

void run_hooks_best_effort(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                           const char* phase) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    try {
      run_hooks({hooks[i]}, state_json, phase);
    } catch (const Error& e) {
      log_warning(e.what());
    }
  }
}

}  // namespace mctr::runc
