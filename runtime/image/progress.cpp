#include "image/progress.h"

#include <unistd.h>

#include <algorithm>
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
  std::lock_guard lock(mu_);
  if (enabled_ && !lines_.empty()) std::fputc('\n', stderr);
  lines_.clear();
}

void ProgressBar::draw(const Line& line, uint64_t done, uint64_t total) {
  constexpr int kWidth = 40;
  int filled =
      total ? static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * kWidth) : kWidth;
  if (filled > kWidth) filled = kWidth;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r%s: Loading [%s] %8s/%s\033[K", line.diff_id.substr(7, 12).c_str(), bar.c_str(),
               human_size(done).c_str(), human_size(total).c_str());
}

void ProgressBar::update(const std::string& diff_id, uint64_t done, uint64_t total) {
  if (!enabled_ || diff_id.size() < 19) return;
  std::lock_guard lock(mu_);
  auto it = std::find_if(lines_.begin(), lines_.end(), [&](const Line& l) { return l.diff_id == diff_id; });
  if (it == lines_.end()) {
    if (!lines_.empty()) std::fputc('\n', stderr);
    lines_.push_back(Line{diff_id});
    it = lines_.end() - 1;
  }
  if (done == it->last_done) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total && now - it->last < std::chrono::milliseconds(100)) return;  // at most 10 redraws a second
  it->last = now;
  it->last_done = done;
  // Up to the layer's line, redraw it, back down to the last line.
  auto up = lines_.end() - 1 - it;
  if (up) std::fprintf(stderr, "\033[%tdA", up);
  draw(*it, done, total);
  if (up) std::fprintf(stderr, "\033[%tdB", up);
  std::fflush(stderr);
}

}  // namespace mctr::image
