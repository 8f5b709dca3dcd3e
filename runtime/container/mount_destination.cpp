#include "container/mount_destination.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "util/error.h"

namespace mctr::container {

namespace {

// Files under /proc a bind may replace: those lxcfs emulates (runc's
// checkProcMount allows exactly these).
constexpr const char* kProcFilesAllowed[] = {"/proc/cpuinfo",
                                             "/proc/diskstats",
                                             "/proc/meminfo",
                                             "/proc/stat",
                                             "/proc/swaps",
                                             "/proc/uptime",
                                             "/proc/loadavg",
                                             "/proc/slabinfo",
                                             "/proc/net/dev",
                                             "/proc/sys/kernel/ns_last_pid",
                                             "/proc/sys/crypto/fips_enabled"};

[[noreturn]] void refuse(const std::string& spec, const std::string& why) {
  throw Error("invalid volume specification: '" + spec + "': " + why);
}

}  // namespace

std::string normalize_container_path(const std::string& path) {
  std::vector<std::string> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string checked_mount_destination(const std::string& spec, const std::string& destination) {
  if (destination.empty() || destination[0] != '/') refuse(spec, "destination must be an absolute path");
  const std::string dst = normalize_container_path(destination);
  if (dst == "/") refuse(spec, "destination can't be '/'");
  if (dst == "/proc")
    refuse(spec, "destination can't be '/proc' (the container's procfs is made by the runtime)");
  if (dst.rfind("/proc/", 0) == 0 && std::find(std::begin(kProcFilesAllowed), std::end(kProcFilesAllowed),
                                               dst) == std::end(kProcFilesAllowed))
    refuse(spec, "\"" + dst + "\" cannot be mounted because it is inside /proc");
  if (dst == "/dev")
    refuse(spec, "destination can't be '/dev' (the container's /dev is made by the runtime)");
  return dst;
}

}  // namespace mctr::container
