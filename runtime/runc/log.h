// runc's --log and --log-format: where the runtime says what went wrong, for
// its caller to show. containerd's shim and conmon read the file after a
// failed command and show the last "error" line: with --log-format json each
// line is {"level":"error","msg":"...","time":"2024-01-02T03:04:05Z"}.
#pragma once

#include <string>

namespace mctr::runc {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Set once from the global flags. Without a file, warnings and errors go to
// stderr only (as runc does).
void configure_log(const std::string& file, bool json, bool debug);

// Append one line to the log file (and errors to stderr too).
void log(LogLevel level, const std::string& msg);
inline void log_error(const std::string& msg) { log(LogLevel::kError, msg); }
inline void log_warning(const std::string& msg) { log(LogLevel::kWarning, msg); }
inline void log_debug(const std::string& msg) { log(LogLevel::kDebug, msg); }

// One JSON log line (no newline), for tests: time is RFC 3339 in UTC.
std::string json_log_line(LogLevel level, const std::string& msg, const std::string& time);

// Now as RFC 3339 with nanoseconds, UTC ("2024-01-02T03:04:05.123456789Z"),
// as runc writes `created` in its state.
std::string rfc3339_now(bool nanos);

}  // namespace mctr::runc
