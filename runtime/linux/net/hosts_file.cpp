#include "linux/net/hosts_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "linux/net/network.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::net {

std::string hosts_with_peers(const std::string& current,
                             const std::function<bool(const std::string&)>& on_bridge,
                             const std::vector<std::string>& own_ips, const std::vector<HostEntry>& peers) {
  std::istringstream in(current);
  std::string out, line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr;
    fields >> addr;
    bool own = std::find(own_ips.begin(), own_ips.end(), addr) != own_ips.end();
    if (!addr.empty() && addr[0] != '#' && !own && on_bridge(addr))
      continue;  // a peer's line: rewritten below
    out += line + "\n";
  }
  for (const HostEntry& p : peers) {
    if (p.name.empty()) continue;
    if (!p.ip.empty()) out += p.ip + "\t" + p.name + "\n";
    if (!p.ip6.empty()) out += p.ip6 + "\t" + p.name + "\n";
  }
  return out;
}

bool rewrite_in_place(const std::filesystem::path& path, const std::string& data) {
  // Not write-temp-and-rename: the container sees this file through a bind
  // mount, which is bound to the *inode*. A rename would put a new inode at
  // the path while the container keeps seeing the old one forever. So the
  // same inode is overwritten: write the new bytes from offset 0, then cut the
  // file to their length. (Not O_TRUNC first: a resolver reading between the
  // truncate and the write would see an empty file and lose "localhost";
  // this way the unchanged first lines are always there.) Callers hold the
  // IPAM lock, so two rewrites never interleave.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return false;
    throw_sys("open", path);
  }
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::pwrite(fd.get(), data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("pwrite", path);
    done += static_cast<size_t>(n);
  }
  check_sys(::ftruncate(fd.get(), static_cast<off_t>(data.size())), "ftruncate", path);
  return true;
}

}  // namespace mctr::net
