#include "build/run_step.h"

#include <signal.h>

#include "container/lifecycle.h"
#include "container/logfile.h"
#include "container/state.h"
#include "container/supervisor.h"
#include "linux/init_layer.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::build {

namespace {

container::Config container_config(const std::filesystem::path& root, const RunSpec& spec) {
  container::Config c;
  c.image = "minictr-build";
  c.image_id = spec.image_id;
  c.layer_dirs = spec.layer_dirs;
  if (auto init = rootfs::init_layer(StorePaths{root}.init_layers(), c.layer_dirs))
    c.layer_dirs.push_back(init->string());
  c.args = spec.args;
  c.cmd = spec.args;
  c.env = spec.env;
  c.working_dir = spec.workdir.empty() ? "/" : spec.workdir;
  c.user = spec.user;
  c.network_mode = container::NetworkMode::parse(spec.network);  // "default" is the bridge
  c.log_config = container::log_config_from_flags({});
  // As `run` does: the default capabilities and seccomp profile.
  security::resolve_capabilities(c.security);
  security::read_seccomp_profile(c.security);
  return c;
}

}  // namespace

int run_in_container(const std::filesystem::path& root, const RunSpec& spec,
                     const std::function<void(const std::filesystem::path& upper)>& changes) {
  if (spec.layer_dirs.empty())
    throw Error("RUN needs a base image: the stage has no files yet (FROM scratch)");
  container::Store store(root);
  container::Config c = container_config(root, spec);
  // While the container runs, ^C and friends are forwarded to it
  // (wait_exited); afterwards they act on the build again, once the
  // container is gone (guards run in reverse order).
  sigset_t old_mask;
  sigprocmask(SIG_SETMASK, nullptr, &old_mask);
  ScopeGuard restore_signals([&] { sigprocmask(SIG_SETMASK, &old_mask, nullptr); });
  store.create(c);
  // Removed at the end, on success, failure or exception alike.
  ScopeGuard remove([&] { container::remove_container(store, c.id, true); });
  container::SupervisorHandle::hold_signals();
  auto sup = container::SupervisorHandle::launch(root, c.id, true);
  auto started = sup.wait_started();
  if (!started.ok) throw Error(started.error, started.exit_code);
  std::optional<int> code = sup.wait_exited(started.pid);
  // The supervisor reports the exit before it unmounts and removes the
  // cgroup: wait for that, so the upper dir is no longer written to.
  container::wait_not_running(store, c.id, 10000);
  if (!code) code = container::observed_state(store, c.id).exit_code;
  if (*code == 0) changes(store.dir(c.id) / "upper");
  return *code;
}

}  // namespace mctr::build
