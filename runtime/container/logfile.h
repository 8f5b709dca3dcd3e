// Container logs in Docker's json-file format, one JSON object per line:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-22T19:28:00.123456789Z"}
// With a size limit the log rotates as Docker's does: <id>-json.log is the
// current file, <id>-json.log.1 the one before it, ... up to max-file files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mctr::container {

// What `--log-opt` sets. Without any --log-opt a container gets
// max-size=10m, max-file=3 (at most ~30 MB of log); Docker's own default is
// no limit, which let 1 MB of short lines grow a 36 MB log.
struct LogOptions {
  int64_t max_size = -1;  // bytes; -1: no limit
  int max_file = 1;       // files kept, the current one included
};
inline constexpr const char* kDefaultLogMaxSize = "10m";
inline constexpr const char* kDefaultLogMaxFile = "3";

// Docker's units.FromHumanSize, as json-file's max-size uses it: decimal
// units (10k = 10000, 10m = 10000000), "-1" for no limit. Throws Error.
int64_t parse_log_size(const std::string& s);
// `--log-opt KEY=VALUE` flags -> the stored options (Docker's LogConfig.Config
// map), defaults filled in. Throws Error (one line) on a bad key or value.
std::map<std::string, std::string> log_config_from_flags(const std::vector<std::string>& flags);
// The stored map -> typed options. Throws Error like the above.
LogOptions parse_log_config(const std::map<std::string, std::string>& config);
// The same for the supervisor, which must not fail on a hand-edited
// config.json: a bad map gives the defaults.
LogOptions log_options_of(const std::map<std::string, std::string>& config) noexcept;

// <log>.N for N = 1.. as the rotation names them.
std::filesystem::path rotated_log(const std::filesystem::path& log, int n);

class LogWriter {
 public:
  LogWriter(std::filesystem::path path, LogOptions opts);
  // Append output; complete lines are written at once (one write(2) per
  // call, not per line), a partial line is kept until its newline arrives
  // (or flush()).
  void write(const std::string& stream, const char* data, size_t n);
  void flush();

 private:
  void add_line(const std::string& stream, const std::string& line, const std::string& time);
  void commit();
  void rotate();
  std::filesystem::path path_;
  LogOptions opts_;
  UniqueFd fd_;
  off_t size_ = 0;     // of the current file, with what commit() wrote
  std::string batch_;  // encoded lines not written yet
  std::string pending_out_, pending_err_;
};

struct LogLine {
  std::string stream;  // stdout | stderr
  std::string time;
  std::string text;  // with its trailing newline, if any
};

// Read all lines of a log and its rotated files, oldest first (the last
// `tail` ones when tail >= 0), calling `emit` for each. With `follow`, keep
// reading new lines, across rotations, until `still_running` returns false.
void read_log(const std::filesystem::path& path, long tail, bool follow,
              const std::function<bool()>& still_running, const std::function<void(const LogLine&)>& emit);

}  // namespace mctr::container
