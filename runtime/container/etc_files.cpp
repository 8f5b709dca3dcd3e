#include "container/etc_files.h"

#include <unistd.h>

#include <sstream>

#include "container/networks.h"
#include "container/userns_mode.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::container {

// Rewritten at every start, so no fsync (durable=false): a crash loses
// nothing that the next start would not write again. With --userns the
// container's root owns them, as it owns its image's files.
static void replace_file(const std::filesystem::path& p, const std::string& data, const EtcFiles& files) {
  fs::write_file_atomic(p, data, 0644, false);
  if (files.owner) check_sys(::chown(p.c_str(), files.owner->first, files.owner->second), "chown", p);
}

EtcFiles etc_files_of(const Config& cfg) {
  EtcFiles f{cfg.hostname, cfg.name, cfg.network_mode, std::nullopt};
  if (auto r = userns_ranges(cfg.userns)) f.owner.emplace(r->uids.host_id, r->gids.host_id);
  return f;
}

std::string resolver_resolv_conf(const std::string& text, const std::string& name_server) {
  std::istringstream in(text);
  std::string line, out = "nameserver " + name_server + "\n";
  bool has_ndots = false;
  while (std::getline(in, line)) {
    if (line.rfind("search", 0) != 0 && line.rfind("options", 0) != 0) continue;
    out += line + "\n";
    if (line.rfind("options", 0) == 0 && line.find("ndots:") != std::string::npos) has_ndots = true;
  }
  // Docker's: "web" is asked as it is first, not as web.<search domain>
  // (the resolver knows the containers' short names).
  if (!has_ndots) out += "options ndots:0\n";
  return out;
}

// The host's resolv.conf, minus loopback name servers (127.0.0.53 of
// systemd-resolved is unreachable from the container's own network).
static std::string container_resolv_conf(bool host_network, const std::string& name_server) {
  std::string host = fs::read_file_if_exists("/etc/resolv.conf").value_or("");
  if (host_network) return host;
  if (!name_server.empty()) return resolver_resolv_conf(host, name_server);
  std::istringstream in(host);
  std::string line, out;
  bool has_server = false;
  while (std::getline(in, line)) {
    if (line.rfind("nameserver", 0) == 0) {
      if (line.find(" 127.") != std::string::npos || line.find(" ::1") != std::string::npos) continue;
      has_server = true;
    }
    out += line + "\n";
  }
  if (!has_server) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

void write_etc_files(const std::filesystem::path& dir, const EtcFiles& files, const std::string& ip,
                     const std::vector<std::pair<std::string, std::string>>& peers, const std::string& ip6,
                     const std::string& name_server) {
  replace_file(dir / "hostname", files.hostname + "\n", files);
  if (files.network.joins_container()) return;  // it mounts the other's hosts and resolv.conf
  std::string hosts =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  const std::string own_names = files.hostname + (files.name.empty() ? "" : " " + files.name);
  if (!ip.empty()) hosts += ip + "\t" + own_names + "\n";
  if (!ip6.empty()) hosts += ip6 + "\t" + own_names + "\n";  // as Docker does with IPv6
  for (const auto& [name, peer_ip] : peers)
    if (name != files.name) hosts += peer_ip + "\t" + name + "\n";
  replace_file(dir / "hosts", hosts, files);
  replace_file(dir / "resolv.conf",
               container_resolv_conf(files.network.kind == NetworkMode::Kind::kHost, name_server), files);
}

}  // namespace mctr::container
