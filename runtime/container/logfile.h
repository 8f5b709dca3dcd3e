// Container logs in Docker's json-file format, one JSON object per line:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-22T19:28:00.123456789Z"}
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "util/fd.h"

namespace mctr::container {

class LogWriter {
 public:
  explicit LogWriter(std::filesystem::path path);
  // Append output; complete lines are written at once, a partial line is
  // kept until its newline arrives (or flush()).
  void write(const std::string& stream, const char* data, size_t n);
  void flush();

 private:
  void write_line(const std::string& stream, const std::string& line);
  std::filesystem::path path_;
  UniqueFd fd_;
  std::string pending_out_, pending_err_;
};

struct LogLine {
  std::string stream;  // stdout | stderr
  std::string time;
  std::string text;  // with its trailing newline, if any
};

// Read all lines of a log (the last `tail` ones when tail >= 0), calling
// `emit` for each. With `follow`, keep reading new lines until `still_running`
// returns false.
void read_log(const std::filesystem::path& path, long tail, bool follow,
              const std::function<bool()>& still_running, const std::function<void(const LogLine&)>& emit);

}  // namespace mctr::container
