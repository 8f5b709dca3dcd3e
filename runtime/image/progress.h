// A progress bar per layer while an image loads, drawn on stderr when it is a
// terminal (quiet otherwise, so logs and pipes stay clean):
//
//   3f2a1b0c9d8e: Loading [=================>                 ]  12.6MB/25.1MB
#pragma once

#include <chrono>
#include <string>

#include "image/store.h"

namespace mctr::image {

class ProgressBar {
 public:
  // enabled=false draws nothing; ProgressBar::for_stderr() enables it on a TTY.
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  static ProgressBar for_stderr();
  ~ProgressBar() { finish(); }
  // End the current line (call before printing anything else).
  void finish();

  void update(const std::string& diff_id, uint64_t done, uint64_t total);
  ProgressFn fn() {
    return [this](const std::string& d, uint64_t done, uint64_t total) { update(d, done, total); };
  }

 private:
  void draw(uint64_t done, uint64_t total);
  bool enabled_;
  std::string current_;
  bool line_open_ = false;
  uint64_t last_done_ = UINT64_MAX;
  std::chrono::steady_clock::time_point last_{};
};

// Docker's human sizes: decimal units, 3 significant digits ("4.26MB").
std::string human_size(uint64_t bytes);

}  // namespace mctr::image
