// The container's command as the user typed it. CLI11 reads an argument
// written "[a,b]" as a list of values and strips the brackets, so
// `run busybox sh -c '[ -d / ]'` would reach the container as
// `sh -c " -d / "` (and exit 0 whatever the test says). The command is the
// tail of the command line (positionals_at_end): take it from there.
#pragma once

#include <string>
#include <vector>

namespace mctr {

// `parsed`: what CLI11 collected for the command; `argv`: the raw command
// line. Returns the last arguments of argv that CLI11 turned into `parsed`,
// as typed; `parsed` itself when they do not line up (a "--" inside the
// command, say).
std::vector<std::string> command_as_typed(const std::vector<std::string>& parsed,
                                          const std::vector<std::string>& argv);

}  // namespace mctr
