#include "runc/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "container/from_bundle.h"
#include "container/init.h"
#include "linux/in_root.h"
#include "linux/security/capability_sets.h"
#include "linux/security/security.h"
#include "runc/log.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

namespace {

void enter_cwd(const std::string& cwd) {
  const std::string d = cwd.empty() ? "/" : cwd;
  if (::chdir(d.c_str()) == 0) return;
  UniqueFd wd(rootfs::open_in_root("/", d, true, true));
  check_sys(::fchdir(wd.get()), "fchdir", d);
}

bool has_key(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env)
    if (e.rfind(key + "=", 0) == 0) return true;
  return false;
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

PreparedProcess prepare_process(const oci::Process& p, const std::optional<oci::Seccomp>& seccomp) {
  PreparedProcess out;
  out.process = &p;
  out.identity = container::identity_of(p.user);
  enter_cwd(p.cwd);
  out.env = p.env;
  if (!has_key(out.env, "HOME")) out.env.push_back("HOME=" + out.identity.home);
  if (p.args.empty()) throw Error("process.args must not be empty", kExitRuntimeError);
  out.executable = container::find_executable(p.args[0], out.env);
  if (seccomp) out.seccomp = container::seccomp_profile(*seccomp);
  return out;
}

void apply_limits(const oci::Process& p) {
  container::apply_rlimits(p.rlimits);
  if (p.oom_score_adj) fs::write_file("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
}

void become_user_and_exec(const PreparedProcess& prepared) {
  const oci::Process& p = *prepared.process;
  std::vector<std::string> kept;
  if (p.capabilities)
    for (const auto& c : p.capabilities->bounding) kept.push_back(c);
  auto load_filter = [&] {
    if (prepared.seccomp) security::load_profile(*prepared.seccomp, kept);
  };
  // Only fds 0-2 (and what the caller meant to pass) reach the command.
  check_sys(::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
  // Without no_new_privs the kernel takes a filter only from a holder of
  // CAP_SYS_ADMIN: load it while we still are one (as runc does).
  if (!p.no_new_privileges) load_filter();
  security::keep_capabilities_across_setuid();
  user::switch_to(prepared.identity);
  if (p.user.umask) ::umask(static_cast<mode_t>(*p.user.umask));
  if (p.capabilities) {
    const auto& c = *p.capabilities;
    for (const auto& name :
         security::apply_capability_sets({c.bounding, c.effective, c.permitted, c.inheritable, c.ambient}))
      log_warning("capability " + name + " is not known to this kernel: ignored");
  } else {
    security::apply_capability_sets({});
  }
  if (p.no_new_privileges) {
    security::set_no_new_privs();
    load_filter();  // last: from here on only what it allows works, and execve must be one
  }
  for (int sig = 1; sig < NSIG; ++sig) std::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  auto argv = c_strings(p.args);
  auto envp = c_strings(prepared.env);
  ::execve(prepared.executable.c_str(), argv.data(), envp.data());
  int err = errno;
  throw Error("exec: \"" + p.args[0] + "\": " + std::strerror(err),
              err == ENOENT ? kExitNotFound : kExitCannotInvoke);
}

}  // namespace mctr::runc
