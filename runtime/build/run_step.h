// RUN: the command in a real minictr container (the same supervisor as
// `run`: overlay on the stage's layers, the bridge network unless RUN
// --network says none or host, cgroup, seccomp, the stage's env, workdir and
// user), its output shown as it comes. The
// container's upper dir is what the step changed; the container is removed
// afterwards, whatever happened, so nothing of it stays (ps, mounts,
// cgroup, veth).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mctr::build {

struct RunSpec {
  std::vector<std::string> args;        // what the container executes
  std::vector<std::string> env;         // KEY=value
  std::string workdir = "/", user;      // the stage's
  std::vector<std::string> layer_dirs;  // lowest first
  std::string image_id;                 // the parent state, shown by ps meanwhile
  std::string network = "bridge";       // RUN --network: bridge (default), none or host
};

// Runs the command to its end. On exit 0, `changes(upper)` is called with
// the container's upper dir before it is removed. Returns the exit code.
int run_in_container(const std::filesystem::path& root, const RunSpec& spec,
                     const std::function<void(const std::filesystem::path& upper)>& changes);

}  // namespace mctr::build
