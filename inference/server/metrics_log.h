// One CSV row per completed request, appended to METRICS_LOG_FILE:
//   latency_ms,prompt_tokens,generated_tokens,tokens_per_second,prompt,timestamp
// Each row is one write(2) on an O_APPEND descriptor, under a mutex, so rows from
// concurrent requests never interleave. A header row is written when the file is new.
#pragma once

#include <mutex>
#include <string>

namespace mctr::infer {

struct MetricsRow {
  double latency_ms = 0;
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double tokens_per_second = 0;
  std::string prompt;
  std::string timestamp;  // ISO 8601 UTC, e.g. 2026-01-02T03:04:05.678Z
};

std::string csv_escape(const std::string& field);
std::string iso_timestamp_now();

class MetricsLog {
 public:
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // Never throws: if the file cannot be written, warns once on stderr and carries on.
  void append(const MetricsRow& row);

 private:
  std::string path_;
  std::mutex mu_;
  bool warned_ = false;
};

}  // namespace mctr::infer
