#include "util/error.h"

#include <cstring>

namespace mctr {

static std::string format_sys(const std::string& call, const std::string& path, int err) {
  std::string msg = call;
  if (!path.empty()) msg += "(" + path + ")";
  msg += ": ";
  msg += std::strerror(err);
  return msg;
}

SysError::SysError(const std::string& call, const std::string& path, int err)
    : Error(format_sys(call, path, err)), err_(err) {}

void throw_sys(const std::string& call, const std::string& path) { throw SysError(call, path, errno); }

}  // namespace mctr
