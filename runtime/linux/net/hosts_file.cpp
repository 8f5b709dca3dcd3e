#include "linux/net/hosts_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

#include "linux/net/network.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::net {

namespace {

// The first whitespace-separated field of a line: its address.
std::string_view first_field(std::string_view line) {
  const size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const size_t end = line.find_first_of(" \t", begin);
  return line.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
}

}  // namespace

std::string hosts_with_peers(const std::string& current,
                             const std::function<bool(const std::string&)>& on_bridge,
                             const std::vector<std::string>& own_ips, const std::vector<HostEntry>& peers,
                             const std::string& self_id) {
  std::string out;
  out.reserve(current.size() + 64);
  const std::string_view text(current);
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    const std::string addr(first_field(line));
    const bool own = std::find(own_ips.begin(), own_ips.end(), addr) != own_ips.end();
    if (!addr.empty() && addr[0] != '#' && !own && on_bridge(addr))
      continue;  // a peer's line: rewritten below
    out.append(line);
    out += '\n';
  }
  for (const HostEntry& p : peers) {
    if (p.name.empty() || (!self_id.empty() && p.container_id == self_id)) continue;
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
