// push, pull, login and logout run minictr-registry, the registry client that
// lives next to this binary (runtime/registry/main.cpp says why it is separate).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/verbs.h"

namespace mctr::cli {

// exec minictr-registry VERB --root ROOT ARGS...; `input` (a password) is
// written to its stdin through a pipe, else it inherits ours. Returns its
// exit code.
int run_registry_helper(const Globals& g, const std::string& verb, const std::vector<std::string>& args,
                        const std::optional<std::string>& input = std::nullopt);

// push and pull: minictr-registry VERB --root ROOT [--insecure] REF.
int run_registry_helper(const Globals& g, const std::string& verb, bool insecure, const std::string& ref);

}  // namespace mctr::cli
