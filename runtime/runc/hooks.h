// The bundle's hooks (config.json "hooks"), run as the runtime spec says:
// each a program on the host (path, args with args[0] as its name, env
// exactly as given), with the container's state JSON on its stdin, and an
// optional timeout in seconds after which it is killed.
//   prestart, createRuntime  by `create`, in the runtime's namespaces, after
//                            the container's mounts and before pivot_root
//   createContainer          by the init, in the container's mount namespace, before pivot_root
//   startContainer           by the init, in the container, just before its process
//   poststart                by `start`, once the process runs
//   poststop                 by `delete`, after the container is gone
// A failing hook of the first four fails the container; poststart and
// poststop failures are logged as warnings (runc does the same).
#pragma once

#include <string>
#include <vector>

#include "oci/spec.h"

namespace mctr::runc {

// Run each hook in order; throws Error "<phase> hook #N (<path>): ..." at the first that fails.
void run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* phase);

// The same, logging failures as warnings instead of throwing.
void run_hooks_best_effort(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                           const char* phase);

}  // namespace mctr::runc
