#include "linux/net/balanced.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::net {

using nlohmann::json;

namespace {

std::filesystem::path record_file(const std::filesystem::path& state_dir) {
  return state_dir / "balanced.json";
}

std::map<std::string, BalancedPort> read_record(const std::filesystem::path& state_dir) {
  std::map<std::string, BalancedPort> out;
  const auto text = fs::read_file_if_exists(record_file(state_dir));
  if (!text) return out;
  const json doc = json::parse(*text);
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const json& j = it.value();
    BalancedPort b;
    b.tag = it.key();
    for (const auto& p : j.at("ports")) b.ports.push_back(parse_port_mapping(p.get<std::string>()));
    b.members = j.at("members").get<std::vector<std::string>>();
    out[b.tag] = b;
  }
  return out;
}

void write_record(const std::filesystem::path& state_dir, const std::map<std::string, BalancedPort>& all) {
  json out = json::object();
  for (const auto& [tag, b] : all) {
    json ports = json::array();
    for (const auto& p : b.ports) ports.push_back(format_port_mapping(p));
    out[tag] = {{"ports", ports}, {"members", b.members}};
  }
  fs::write_file_atomic(record_file(state_dir), out.dump(2) + "\n", 0600, false);
}

// The members' addresses, in member order, of those attached now (but `leaving`).
std::vector<std::string> backends(const BalancedPort& b, const LeaseFile& lf, const std::string& leaving) {
  std::vector<std::string> ips;
  for (const auto& id : b.members) {
    const auto it = lf.leases().find(id);
    if (id != leaving && it != lf.leases().end() && it->second.attached && !it->second.ip.empty())
      ips.push_back(it->second.ip);
  }
  return ips;
}

// The old rules out and the new ones in, in one transaction: no connection
// meets the port without a rule.
size_t write_rules(Nft& nft, const std::string& table, const BalancedPort& b, const LeaseFile& lf,
                   const std::string& leaving = "") {
  const auto ips = backends(b, lf, leaving);
  std::string commands;
  for (const auto& r : rules_tagged(nft, table, b.tag))
    commands += "delete rule ip " + table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
  for (const auto& m : b.ports)
    commands += balanced_dnat_rule(table, b.tag, {m.host_ip, m.host_port, m.proto, ips, m.container_port});
  if (!commands.empty()) nft.run(commands);
  return ips.size();
}

}  // namespace

size_t set_balanced_port(const Network::Options& o, const BalancedPort& b) {
  const auto dir = o.lease_dir.empty() ? Network::host_state_dir(o.bridge) : o.lease_dir;
  fs::mkdir_p(dir, 0700);
  LeaseFile lf(dir);
  auto all = read_record(dir);
  if (b.members.empty())
    all.erase(b.tag);
  else
    all[b.tag] = b;
  write_record(dir, all);
  Nft nft;
  return write_rules(nft, o.table, b, lf);
}

void rebalance_members(Nft& nft, const std::string& table, const std::filesystem::path& state_dir,
                       const LeaseFile& lf, const std::string& id, bool leaving) {
  try {
    for (const auto& [tag, b] : read_record(state_dir))
      if (id.empty() || std::find(b.members.begin(), b.members.end(), id) != b.members.end())
        write_rules(nft, table, b, lf, leaving ? id : "");
  } catch (const std::exception&) {
    // The table is gone (network removed) or the record unreadable: the
    // next compose up rewrites it.
  }
}

}  // namespace mctr::net
