#include "linux/net/ipam.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::net {

using nlohmann::json;

static json port_to_json(const PortMapping& p) {
  return {{"host_ip", p.host_ip},
          {"host_port", p.host_port},
          {"container_port", p.container_port},
          {"proto", p.proto}};
}

static PortMapping port_from_json(const json& j) {
  PortMapping p;
  p.host_ip = j.at("host_ip").get<std::string>();
  p.host_port = j.at("host_port").get<uint16_t>();
  p.container_port = j.at("container_port").get<uint16_t>();
  p.proto = j.at("proto").get<std::string>();
  return p;
}

std::map<std::string, Lease> read_leases(const std::filesystem::path& file) {
  std::map<std::string, Lease> leases;
  auto text = fs::read_file_if_exists(file);
  if (!text || text->empty()) return leases;
  try {
    json doc = json::parse(*text);
    for (const auto& [id, j] : doc.at("leases").items()) {
      Lease l;
      l.container_id = id;
      l.owner = j.value("owner", "");
      l.name = j.value("name", "");
      l.aliases = j.value("aliases", std::vector<std::string>{});
      l.ip = j.at("ip").get<std::string>();
      l.ip6 = j.value("ip6", "");
      l.host_veth = j.at("host_veth").get<std::string>();
      l.attached = j.value("attached", false);
      l.attaching_pid = j.value("attaching_pid", 0);
      for (const auto& p : j.value("ports", json::array())) l.ports.push_back(port_from_json(p));
      leases[id] = std::move(l);
    }
  } catch (const json::exception& e) {
    throw Error("corrupt IPAM file " + file.string() + ": " + e.what());
  }
  return leases;
}

LeaseFile::LeaseFile(const std::filesystem::path& dir)
    : lock_(dir / "ipam.lock"), file_(dir / "ipam.json"), leases_(read_leases(file_)) {}

void LeaseFile::save() {
  json leases = json::object();
  for (const auto& [id, l] : leases_) {
    json ports = json::array();
    for (const auto& p : l.ports) ports.push_back(port_to_json(p));
    leases[id] = {{"owner", l.owner},       {"name", l.name},
                  {"aliases", l.aliases},   {"ip", l.ip},
                  {"ip6", l.ip6},           {"host_veth", l.host_veth},
                  {"attached", l.attached}, {"attaching_pid", l.attaching_pid},
                  {"ports", ports}};
  }
  // Write a temp file and rename it over: readers see the old or the new
  // leases, never half a file. No fsync (unlike fs::write_file_atomic, it
  // costs ~10 ms per save on ext4): after a crash or power loss every
  // container and veth is gone too, and their leases would be dropped as stale.
  const std::filesystem::path tmp = file_.string() + ".tmp";  // we hold the lock: one writer
  const std::string data = json{{"leases", leases}}.dump(2) + "\n";
  UniqueFd fd(check_sys(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", tmp));
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write", tmp);
    done += static_cast<size_t>(n);
  }
  fd.reset();
  fs::keep_open_until_released(file_);  // the old leases' blocks are freed later
  check_sys(::rename(tmp.c_str(), file_.c_str()), "rename", file_);
}

uint32_t LeaseFile::free_ip(const Subnet& subnet) const {
  std::set<uint32_t> used;
  for (const auto& [id, l] : leases_) used.insert(parse_ipv4(l.ip));
  for (uint32_t a = subnet.gateway() + 1; a < subnet.broadcast(); ++a)
    if (!used.count(a)) return a;
  throw Error("no free address left in subnet " + subnet.cidr());
}

Ipv6 LeaseFile::free_ip6(const Subnet6& subnet) const {
  std::set<Ipv6> used;
  for (const auto& [id, l] : leases_)
    if (!l.ip6.empty()) used.insert(parse_ipv6(l.ip6));
  for (uint32_t i = 2; i < subnet.size(); ++i)
    if (!used.count(subnet.host(i))) return subnet.host(i);
  throw Error("no free address left in subnet " + subnet.cidr());
}

bool LeaseFile::host_port_taken(const PortMapping& p) const {
  for (const auto& [id, l] : leases_)
    for (const auto& q : l.ports)
      // "" (all addresses) conflicts with every specific address and vice versa.
      if (q.proto == p.proto && q.host_port == p.host_port &&
          (q.host_ip.empty() || p.host_ip.empty() || q.host_ip == p.host_ip))
        return true;
  return false;
}

}  // namespace mctr::net
