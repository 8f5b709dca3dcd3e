#include "cli/format.h"

#include <cstdio>
#include <ctime>

namespace mctr::cli {

long long seconds_since(const std::string& t) {
  if (t.size() < 19) return -1;
  tm tmv{};
  if (!strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tmv)) return -1;
  time_t then = timegm(&tmv);
  return static_cast<long long>(time(nullptr) - then);
}

std::string go_time_text(const std::string& t) {
  tm tmv{};
  if (t.size() < 19 || !strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tmv)) return "";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tmv);
  return buf;
}

std::string human_duration(long long s) {
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return std::to_string(s) + " seconds";
  long long m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return std::to_string(m) + " minutes";
  long long h = m / 60;
  if (h == 1) return "About an hour";
  if (h < 48) return std::to_string(h) + " hours";
  long long d = h / 24;
  if (d < 14) return std::to_string(d) + " days";
  if (d < 60) return std::to_string(d / 7) + " weeks";
  if (d < 730) return std::to_string(d / 30) + " months";
  return std::to_string(d / 365) + " years";
}

static std::string scaled(double v, double base, const char* const* units) {
  int i = 0;
  while (v >= base && units[i + 1]) {
    v /= base;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f%s" : "%.4g%s", v, units[i]);
  return buf;
}

std::string binary_size(double bytes) {
  static const char* const u[] = {"B", "KiB", "MiB", "GiB", "TiB", nullptr};
  return scaled(bytes, 1024, u);
}

std::string decimal_size(double bytes) {
  static const char* const u[] = {"B", "kB", "MB", "GB", "TB", nullptr};
  return scaled(bytes, 1000, u);
}

std::string status_text(container::Status status, int exit_code, const std::string& started,
                        const std::string& finished) {
  if (status == container::Status::kRunning) return "Up " + human_duration(seconds_since(started));
  if (status == container::Status::kExited)
    return "Exited (" + std::to_string(exit_code) + ") " + human_duration(seconds_since(finished)) + " ago";
  return "Created";
}

}  // namespace mctr::cli
