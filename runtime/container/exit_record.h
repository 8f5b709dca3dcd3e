// The container's exit, written where it cannot fail for lack of space: the
// supervisor reserves the record's blocks when it starts the container
// (fallocate) and overwrites them in place when the container exits, before
// it tries to update state.json (a new file: on a full filesystem that
// fails, and the exit code would be lost).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/fd.h"

namespace mctr::container {

class ExitRecord {
 public:
  // Creates (or resets) <dir>/exit with its space allocated: "running".
  static ExitRecord reserve(const std::filesystem::path& dir);
  // Overwrites the record in place: no new blocks needed.
  void write(int exit_code, bool oom_killed, const std::string& finished_at);

  struct Exit {
    int exit_code = 0;
    bool oom_killed = false;
    std::string finished_at;
  };
  // The recorded exit, or nullopt while "running" (or without a record).
  static std::optional<Exit> read(const std::filesystem::path& dir);

 private:
  explicit ExitRecord(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace mctr::container
