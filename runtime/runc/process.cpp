#include "runc/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/from_bundle.h"
#include "container/init.h"
#include "linux/security/capability_sets.h"
#include "linux/security/security.h"
#include "runc/log.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

PreparedProcess prepare_process(const oci::Process& p, const std::optional<oci::Seccomp>& seccomp) {
  PreparedProcess out;
  out.process = &p;
  out.identity = container::identity_of(p.user);
  container::enter_working_dir(p.cwd);
  out.env = container::with_home(p.env, out.identity.home);
  if (p.args.empty()) throw Error("process.args must not be empty", kExitRuntimeError);
  out.executable = container::find_executable(p.args[0], out.env);
  if (seccomp) out.seccomp = container::seccomp_profile(*seccomp);
  return out;
}

void apply_limits(const oci::Process& p) {
  container::apply_rlimits(p.rlimits);
  if (p.oom_score_adj) fs::write_file("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj));
}

// The spec's five capability sets as given (runc's way; minictr run keeps one set).
static void set_capability_sets(const oci::Process& p) {
  if (!p.capabilities) {
    security::apply_capability_sets({});
    return;
  }
  const auto& c = *p.capabilities;
  for (const auto& name :
       security::apply_capability_sets({c.bounding, c.effective, c.permitted, c.inheritable, c.ambient}))
    log_warning("capability " + name + " is not known to this kernel: ignored");
}

void become_user_and_exec(const PreparedProcess& prepared) {
  const oci::Process& p = *prepared.process;
  std::vector<std::string> kept;
  if (p.capabilities)
    for (const auto& c : p.capabilities->bounding) kept.push_back(c);
  // Only fds 0-2 (and what the caller meant to pass) reach the command.
  check_sys(::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
  container::apply_security(
      prepared.identity, p.no_new_privileges,
      [&] {
        if (p.user.umask) ::umask(static_cast<mode_t>(*p.user.umask));
        set_capability_sets(p);
      },
      [&] {
        if (prepared.seccomp) security::load_profile(*prepared.seccomp, kept);
      });
  container::exec_command_line(prepared.executable, p.args, prepared.env);
}

}  // namespace mctr::runc
