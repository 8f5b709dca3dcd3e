// Splitting text that the kernel writes (/proc/self/cgroup, mountinfo,
// cgroup.procs, a v1 cgroup's controller list) into views of its parts.
// The supervisor reads these at every start and teardown: a string_view per
// part costs nothing, where an istringstream costs more than the line.
#pragma once

#include <string_view>
#include <vector>

namespace mctr::text {

// The parts between `sep`s, as std::getline gives them: empty ones included,
// but none after a last `sep` ("a,,b" -> a, "", b; "a\n" -> a; "" -> none).
std::vector<std::string_view> split(std::string_view s, char sep);
// The non-empty parts between runs of `sep` ("  1 2 " -> 1, 2).
std::vector<std::string_view> fields(std::string_view s, char sep = ' ');

}  // namespace mctr::text
