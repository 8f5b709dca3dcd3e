#include "util/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include "util/error.h"
#include "util/fs.h"

namespace mctr {

FileLock::FileLock(UniqueFd fd, const std::filesystem::path& path) : fd_(std::move(fd)) {
  while (::flock(fd_.get(), LOCK_EX) < 0) {
    if (errno != EINTR) throw_sys("flock", path);
  }
}

static UniqueFd open_lock_file(const std::filesystem::path& path) {
  fs::mkdir_p(path.parent_path(), 0700);
  return UniqueFd(check_sys(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600), "open", path));
}

FileLock::FileLock(const std::filesystem::path& path) : FileLock(open_lock_file(path), path) {}

FileLock FileLock::directory(const std::filesystem::path& dir) {
  return FileLock(UniqueFd(check_sys(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", dir)),
                  dir);
}

}  // namespace mctr
