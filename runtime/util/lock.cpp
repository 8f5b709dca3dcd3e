#include "util/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include "util/error.h"
#include "util/fs.h"

namespace mctr {

FileLock::FileLock(const std::filesystem::path& path) {
  fs::mkdir_p(path.parent_path(), 0700);
  fd_.reset(check_sys(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600), "open", path));
  while (::flock(fd_.get(), LOCK_EX) < 0) {
    if (errno != EINTR) throw_sys("flock", path);
  }
}

}  // namespace mctr
