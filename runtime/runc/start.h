// `start`: let a created container's init go on to exec its process, by
// opening the read end of the exec fifo it is blocked on.
#pragma once

#include <string>

#include "runc/state_store.h"

namespace mctr::runc {

// Throws Error when the container is not in the created state (runc's words).
void start_container(const Store& store, const std::string& id);

}  // namespace mctr::runc
