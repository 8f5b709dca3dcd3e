#include "util/paths.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"

namespace mctr {

std::filesystem::path resolve_root(const std::string& flag_value) {
  std::filesystem::path p;
  if (!flag_value.empty()) {
    p = flag_value;
  } else if (const char* env = std::getenv("MINICTR_ROOT"); env && *env) {
    p = env;
  } else {
    p = "/var/lib/minictr";
  }
  return std::filesystem::absolute(p).lexically_normal();
}

void make_private_dir(const std::filesystem::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) < 0) {
    if (errno != ENOENT) throw_sys("stat", dir);
    fs::mkdir_p(dir, 0700);
    return;
  }
  if (!S_ISDIR(st.st_mode)) throw Error(dir.string() + ": not a directory");
  // A store made by an older minictr (root and layers/ 0711, volumes/ 0755).
  if ((st.st_mode & 077) != 0) check_sys(::chmod(dir.c_str(), st.st_mode & 07700), "chmod", dir);
}

}  // namespace mctr
