// push and pull run minictr-registry, the registry client that lives next
// to this binary (runtime/registry/main.cpp says why it is separate).
#pragma once

#include <string>
#include <vector>

#include "cli/verbs.h"

namespace mctr::cli {

// exec minictr-registry VERB --root ROOT [--insecure] REF; returns its exit code.
int run_registry_helper(const Globals& g, const std::string& verb, bool insecure, const std::string& ref);

}  // namespace mctr::cli
