#include "image/progress.h"

#include <unistd.h>

#include <cstdio>

namespace mctr::image {

std::string human_size(uint64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 5) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", v, units[u]);
  return buf;
}

ProgressBar ProgressBar::for_stderr() { return ProgressBar(::isatty(STDERR_FILENO) == 1); }

void ProgressBar::finish() {
  if (enabled_ && line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

void ProgressBar::draw(uint64_t done, uint64_t total) {
  constexpr int kWidth = 40;
  int filled =
      total ? static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * kWidth) : kWidth;
  if (filled > kWidth) filled = kWidth;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r%s: Loading [%s] %8s/%s\033[K", current_.substr(7, 12).c_str(), bar.c_str(),
               human_size(done).c_str(), human_size(total).c_str());
  std::fflush(stderr);
}

void ProgressBar::update(const std::string& diff_id, uint64_t done, uint64_t total) {
  if (!enabled_ || diff_id.size() < 19) return;
  if (diff_id != current_) {
    if (line_open_) std::fputc('\n', stderr);
    current_ = diff_id;
    line_open_ = true;
    last_ = {};
    last_done_ = UINT64_MAX;
  }
  if (done == last_done_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_ < std::chrono::milliseconds(100)) return;  // at most 10 redraws a second
  last_ = now;
  last_done_ = done;
  draw(done, total);
}

}  // namespace mctr::image
