#include "cli/registry_helper.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "util/error.h"

namespace mctr::cli {

int run_registry_helper(const Globals& g, const std::string& verb, bool insecure, const std::string& ref) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path helper = self.parent_path() / "minictr-registry";
  if (ec || ::access(helper.c_str(), X_OK) != 0)
    throw Error(verb + ": " + helper.string() + " is missing (it is installed beside minictr)");
  std::string root = g.root().string();
  std::vector<const char*> argv{helper.c_str(), verb.c_str(), "--root", root.c_str()};
  if (insecure) argv.push_back("--insecure");
  argv.push_back(ref.c_str());
  argv.push_back(nullptr);
  pid_t pid = check_sys(::fork(), "fork", helper);
  if (pid == 0) {
    ::execv(helper.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_sys("waitpid", helper);
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 127 ? kExitRuntimeError : WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace mctr::cli
