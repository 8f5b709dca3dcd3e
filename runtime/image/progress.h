// A progress bar per layer while an image loads, drawn on stderr when it is a
// terminal (quiet otherwise, so logs and pipes stay clean):
//
//   3f2a1b0c9d8e: Loading [=================>                 ]  12.6MB/25.1MB
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "image/store.h"

namespace mctr::image {

class ProgressBar {
 public:
  // enabled=false draws nothing; ProgressBar::for_stderr() enables it on a TTY.
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  static ProgressBar for_stderr();
  ~ProgressBar() { finish(); }
  // End the last line (call before printing anything else).
  void finish();

  // Layers unpack on several threads at once: each has its own line, and
  // update() may be called from any thread.
  void update(const std::string& diff_id, uint64_t done, uint64_t total);
  ProgressFn fn() {
    return [this](const std::string& d, uint64_t done, uint64_t total) { update(d, done, total); };
  }

 private:
  struct Line {
    std::string diff_id;
    uint64_t last_done = UINT64_MAX;
    std::chrono::steady_clock::time_point last{};
  };
  void draw(const Line& line, uint64_t done, uint64_t total);
  bool enabled_;
  std::mutex mu_;
  std::vector<Line> lines_;  // in the order the layers started; the cursor is on the last
};

// Docker's human sizes: decimal units, 3 significant digits ("4.26MB").
std::string human_size(uint64_t bytes);

}  // namespace mctr::image
