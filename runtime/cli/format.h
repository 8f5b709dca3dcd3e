// Human-friendly formatting shared by the verbs (Docker's wording).
#pragma once

#include <cstdint>
#include <string>

#include "container/state.h"

namespace mctr::cli {

// Seconds since an RFC 3339 time ("" -> -1).
long long seconds_since(const std::string& rfc3339);
// "2026-12-05 13:20:53 +0000 UTC", as Go prints a time (Docker's CreatedAt); "" -> "".
std::string go_time_text(const std::string& rfc3339);
// "5 seconds", "About a minute", "3 hours" (Docker's units.HumanDuration).
std::string human_duration(long long seconds);
// "12.3MiB" (binary units, like docker stats) / "12.3MB" (decimal, like docker images / NET I/O)
std::string binary_size(double bytes);
std::string decimal_size(double bytes);
// "Up 5 seconds", "Exited (0) 3 seconds ago", "Created"
std::string status_text(container::Status status, int exit_code, const std::string& started,
                        const std::string& finished);

}  // namespace mctr::cli
