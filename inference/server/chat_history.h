// The chat history the page shows, kept in a JSON file (CHAT_HISTORY_FILE, by default
// /app/data/chat_history.json, the image's volume) so it survives stop/start and rm + run:
//
//   {"version": 1, "messages": [{"role": "user", "content": "...", "time": "2026-...Z"},
//                               {"role": "assistant", "content": "...", "time": "...",
//                                "tokens": 42, "tokens_per_second": 31.5, "latency_ms": 1400}]}
//
// Every change rewrites the file atomically (temp file, fsync, rename): a crash leaves the
// old or the new history, never a torn one. The history is capped: the oldest messages go
// first when there are more than max_messages or the file would pass max_bytes.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mctr::infer {

class ChatHistory {
 public:
  ChatHistory(std::string path, size_t max_messages, size_t max_bytes)
      : path_(std::move(path)), max_messages_(max_messages), max_bytes_(max_bytes) {}

  // Reads the file if it exists. Never throws: a file that is not a valid history is
  // renamed to <path>.bad (kept for a human to look at) and the history starts empty; the
  // warning goes to stderr and to load_warning().
  void load();
  const std::string& path() const { return path_; }
  std::string load_warning() const;

  // {"path", "max_messages", "max_bytes", "messages": [...], "warning"?}
  nlohmann::json to_json() const;
  nlohmann::json messages() const;

  // Appends (dropping the oldest past the caps) and saves. Returns "" or why the file could
  // not be written (the history in memory is updated all the same).
  std::string append(const std::vector<nlohmann::json>& entries);
  // Empties the history and saves; returns "" or the error.
  std::string clear();

 private:
  std::string save_locked();  // under mu_
  void cap_locked();

  std::string path_;
  size_t max_messages_, max_bytes_;
  mutable std::mutex mu_;
  nlohmann::json messages_ = nlohmann::json::array();
  std::string load_warning_;
};

}  // namespace mctr::infer
