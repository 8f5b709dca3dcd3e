// FileLock: an exclusive flock(2) on a lock file, released on destruction.
// Used for the state of each container, the IPAM file and image loads.
#pragma once

#include <filesystem>

#include "util/fd.h"

namespace mctr {

class FileLock {
 public:
  // Blocks until the lock is held. Creates the file (and its directory).
  explicit FileLock(const std::filesystem::path& path);
  // Lock a directory itself (flock works on any open file): no lock file to
  // create, and a directory removed meanwhile is not made again.
  static FileLock directory(const std::filesystem::path& dir);
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  FileLock(UniqueFd fd, const std::filesystem::path& path);
  UniqueFd fd_;
};

}  // namespace mctr
