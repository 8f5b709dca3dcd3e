#include "util/paths.h"

#include <cstdlib>

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

}  // namespace mctr
