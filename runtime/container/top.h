// docker top: the container's processes as the host's ps shows them.
#pragma once

#include <string>
#include <vector>

#include "container/state.h"

namespace mctr::container {

// `ps` with `ps_args` (default -ef) over every process of the host, keeping
// its header and the rows whose PID is in the container's cgroup. The PIDs
// are the host's. Throws when the container does not run or ps fails.
std::vector<std::string> top_lines(const Store& store, const std::string& id,
                                   const std::vector<std::string>& ps_args);

}  // namespace mctr::container
