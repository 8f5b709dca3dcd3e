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

std::filesystem::path state_dir_of(const Network::Options& o) {
  return o.lease_dir.empty() ? Network::host_state_dir(o.bridge) : o.lease_dir;
}

BalancedRecord read_record(const std::filesystem::path& state_dir) {
  BalancedRecord out;
  const auto text = fs::read_file_if_exists(record_file(state_dir));
  if (!text) return out;
  const json doc = json::parse(*text);
  // A record written before health was kept has the ports at the top (its
  // tags are "compose p/s", never "ports").
  const json& ports = doc.contains("ports") ? doc.at("ports") : doc;
  for (auto it = ports.begin(); it != ports.end(); ++it) {
    const json& j = it.value();
    BalancedPort b;
    b.tag = it.key();
    for (const auto& p : j.at("ports")) b.ports.push_back(parse_port_mapping(p.get<std::string>()));
    b.members = j.at("members").get<std::vector<std::string>>();
    out.ports[b.tag] = b;
  }
  if (doc.contains("health")) out.health = doc.at("health").get<std::map<std::string, std::string>>();
  return out;
}

void write_record(const std::filesystem::path& state_dir, const BalancedRecord& rec) {
  json ports = json::object();
  for (const auto& [tag, b] : rec.ports) {
    json mappings = json::array();
    for (const auto& p : b.ports) mappings.push_back(format_port_mapping(p));
    ports[tag] = {{"ports", mappings}, {"members", b.members}};
  }
  const json out = {{"ports", ports}, {"health", rec.health}};
  fs::write_file_atomic(record_file(state_dir), out.dump(2) + "\n", 0600, false);
}

bool is_member(const BalancedPort& b, const std::string& id) {
  return std::find(b.members.begin(), b.members.end(), id) != b.members.end();
}

// The old rules out and the new ones in, in one transaction: no connection
// meets the port without a rule.
size_t write_rules(Nft& nft, const std::string& table, const BalancedPort& b, const BalancedRecord& rec,
                   const LeaseFile& lf, const std::string& leaving = "") {
  const auto ips = rotation(b, rec, lf.leases(), leaving);
  std::string commands;
  for (const auto& r : rules_tagged(nft, table, b.tag))
    commands += "delete rule ip " + table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
  for (const auto& m : b.ports)
    commands += balanced_dnat_rule(table, b.tag, {m.host_ip, m.host_port, m.proto, ips, m.container_port});
  if (!commands.empty()) nft.run(commands);
  return ips.size();
}

}  // namespace

std::vector<std::string> rotation(const BalancedPort& b, const BalancedRecord& rec,
                                  const std::map<std::string, Lease>& leases, const std::string& leaving) {
  std::vector<std::string> ips;
  for (const auto& id : b.members) {
    const auto lease = leases.find(id);
    if (id == leaving || lease == leases.end() || !lease->second.attached || lease->second.ip.empty())
      continue;
    const auto health = rec.health.find(id);
    if (health != rec.health.end() && health->second != "healthy") continue;
    ips.push_back(lease->second.ip);
  }
  return ips;
}

bool settle_health(BalancedRecord& rec, const std::map<std::string, Lease>& leases,
                   const std::string& leaving) {
  bool changed = false;
  for (auto it = rec.health.begin(); it != rec.health.end();) {
    const auto lease = leases.find(it->first);
    const bool attached = it->first != leaving && lease != leases.end() && lease->second.attached;
    if (attached) {
      ++it;
      continue;
    }
    const bool named = std::any_of(rec.ports.begin(), rec.ports.end(),
                                   [&](const auto& p) { return is_member(p.second, it->first); });
    if (!named) {
      it = rec.health.erase(it);
      changed = true;
      continue;
    }
    if (it->second != "starting") {
      it->second = "starting";
      changed = true;
    }
    ++it;
  }
  return changed;
}

size_t set_balanced_port(const Network::Options& o, const BalancedPort& b) {
  const auto dir = state_dir_of(o);
  fs::mkdir_p(dir, 0700);
  LeaseFile lf(dir);
  auto rec = read_record(dir);
  if (b.members.empty())
    rec.ports.erase(b.tag);
  else
    rec.ports[b.tag] = b;
  settle_health(rec, lf.leases());
  write_record(dir, rec);
  Nft nft;
  return write_rules(nft, o.table, b, rec, lf);
}

void set_member_health(const Network::Options& o, const std::string& id, const std::string& status) {
  const auto dir = state_dir_of(o);
  if (!std::filesystem::exists(dir)) return;  // the network is gone
  LeaseFile lf(dir);
  auto rec = read_record(dir);
  const auto before = rec.health.find(id);
  const std::string old = before == rec.health.end() ? "" : before->second;
  if (old == status) return;
  rec.health[id] = status;
  settle_health(rec, lf.leases());  // not attached: it is in nobody's rotation
  write_record(dir, rec);
  // No entry yet counts as in rotation (a container without a healthcheck).
  const bool was_in = old.empty() || old == "healthy";
  if (was_in == (status == "healthy")) return;
  Nft nft;
  for (const auto& [tag, b] : rec.ports)
    if (is_member(b, id)) write_rules(nft, o.table, b, rec, lf);
}

void rebalance_members(Nft& nft, const std::string& table, const std::filesystem::path& state_dir,
                       const LeaseFile& lf, const std::string& id, bool leaving) {
  try {
    auto rec = read_record(state_dir);
    if (settle_health(rec, lf.leases(), leaving ? id : "")) write_record(state_dir, rec);
    for (const auto& [tag, b] : rec.ports)
      if (id.empty() || is_member(b, id)) write_rules(nft, table, b, rec, lf, leaving ? id : "");
  } catch (const std::exception&) {
    // The table is gone (network removed) or the record unreadable: the
    // next compose up rewrites it.
  }
}

}  // namespace mctr::net
