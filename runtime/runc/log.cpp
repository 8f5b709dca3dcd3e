#include "runc/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace mctr::runc {

namespace {

struct Sink {
  std::string file;
  bool json = false;
  bool debug = false;
};

Sink& sink() {
  static Sink s;
  return s;
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

}  // namespace

void configure_log(const std::string& file, bool json, bool debug) { sink() = {file, json, debug}; }

std::string rfc3339_now(bool nanos) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::string out(buf, n);
  if (nanos) {
    std::snprintf(buf, sizeof buf, ".%09ld", ts.tv_nsec);
    out += buf;
  }
  return out + "Z";
}

std::string json_log_line(LogLevel level, const std::string& msg, const std::string& time) {
  nlohmann::json j = {{"level", level_name(level)}, {"msg", msg}, {"time", time}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void log(LogLevel level, const std::string& msg) {
  const Sink& s = sink();
  if (level == LogLevel::kDebug && !s.debug) return;
  if (level == LogLevel::kError) std::fprintf(stderr, "%s\n", msg.c_str());
  if (s.file.empty()) {
    if (level == LogLevel::kWarning || (level == LogLevel::kDebug && s.debug))
      std::fprintf(stderr, "%s: %s\n", level_name(level), msg.c_str());
    return;
  }
  std::string line =
      s.json ? json_log_line(level, msg, rfc3339_now(false))
             : "time=\"" + rfc3339_now(false) + "\" level=" + level_name(level) + " msg=\"" + msg + "\"";
  line += '\n';
  // O_APPEND: the shim, conmon and several runtime calls share one file.
  int fd = ::open(s.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;  // nowhere to say it: stderr has the error already
  ssize_t n = ::write(fd, line.data(), line.size());
  (void)n;
  ::close(fd);
}

}  // namespace mctr::runc
