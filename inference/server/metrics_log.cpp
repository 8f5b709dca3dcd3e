#include "server/metrics_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "util/fd.h"

namespace mctr::infer {

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';  // RFC 4180: a quote inside a quoted field is doubled
    out += c;
  }
  return out + "\"";
}

std::string iso_timestamp_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

void MetricsLog::append(const MetricsRow& r) {
  char nums[128];
  std::snprintf(nums, sizeof nums, "%.3f,%d,%d,%.3f,", r.latency_ms, r.prompt_tokens, r.generated_tokens,
                r.tokens_per_second);
  std::string line = nums + csv_escape(r.prompt) + "," + r.timestamp + "\n";

  std::lock_guard lk(mu_);
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) {
    if (!warned_) {
      std::fprintf(stderr,
                   "minictr-infer: warning: cannot write metrics log %s: %s (continuing without it)\n",
                   path_.c_str(), std::strerror(errno));
      warned_ = true;
    }
    return;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size == 0)
    line = "latency_ms,prompt_tokens,generated_tokens,tokens_per_second,prompt,timestamp\n" + line;
  // O_APPEND makes the kernel seek to the end and write as one step, even across processes.
  ssize_t n = ::write(fd.get(), line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()) && !warned_) {
    std::fprintf(stderr, "minictr-infer: warning: short write to metrics log %s\n", path_.c_str());
    warned_ = true;
  }
}

}  // namespace mctr::infer
