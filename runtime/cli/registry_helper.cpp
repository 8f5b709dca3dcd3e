#include "cli/registry_helper.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "util/error.h"
#include "util/fd.h"

namespace mctr::cli {

namespace {

void write_all_or_stop(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // the helper exited early: its own error says why
    done += static_cast<size_t>(w);
  }
}

}  // namespace

int run_registry_helper(const Globals& g, const std::string& verb, const std::vector<std::string>& args,
                        const std::optional<std::string>& input) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path helper = self.parent_path() / "minictr-registry";
  if (ec || ::access(helper.c_str(), X_OK) != 0)
    throw Error(verb + ": " + helper.string() + " is missing (it is installed beside minictr)");
  std::string root = g.root().string();
  std::vector<const char*> argv{helper.c_str(), verb.c_str(), "--root", root.c_str()};
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  int fds[2] = {-1, -1};
  if (input) check_sys(::pipe2(fds, O_CLOEXEC), "pipe2", helper);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = check_sys(::fork(), "fork", helper);
  if (pid == 0) {
    if (input && ::dup2(read_end.get(), 0) < 0) _exit(127);
    ::execv(helper.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  if (input) {
    read_end.reset();
    // A helper that exits before reading must not kill us with SIGPIPE.
    auto old = std::signal(SIGPIPE, SIG_IGN);
    write_all_or_stop(write_end.get(), *input);
    std::signal(SIGPIPE, old);
    write_end.reset();
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_sys("waitpid", helper);
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 127 ? kExitRuntimeError : WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

int run_registry_helper(const Globals& g, const std::string& verb, bool insecure, const std::string& ref) {
  std::vector<std::string> args;
  if (insecure) args.push_back("--insecure");
  args.push_back(ref);
  return run_registry_helper(g, verb, args);
}

}  // namespace mctr::cli
