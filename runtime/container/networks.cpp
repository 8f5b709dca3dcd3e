#include "container/networks.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "container/network_connect.h"
#include "container/network_dns.h"
#include "linux/net/ipv4.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"

namespace mctr::container {

using nlohmann::json;

bool is_builtin_network(const std::string& name) {
  return name == "bridge" || name == "host" || name == "none";
}

namespace {

json to_json(const NetworkDef& n) {
  return {{"Name", n.name},     {"Id", n.id},       {"Bridge", n.bridge},
          {"Subnet", n.subnet}, {"Table", n.table}, {"Created", n.created}};
}

NetworkDef from_json(const json& j) {
  return {j.at("Name"), j.at("Id"), j.at("Bridge"), j.at("Subnet"), j.at("Table"), j.value("Created", "")};
}

void check_network_name(const std::string& name) {
  // Docker's rule for network names.
  static const std::regex valid("[a-zA-Z0-9][a-zA-Z0-9_.-]*");
  if (name.size() > 64 || !std::regex_match(name, valid))
    throw Error("invalid network name \"" + name +
                "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 64");
  if (is_builtin_network(name)) throw Error("network with name " + name + " already exists (it is built in)");
}

}  // namespace

Networks::Networks(const Store& store) : store_(store), dir_(store.root() / "networks") {}

std::vector<NetworkDef> Networks::list() const {
  std::vector<NetworkDef> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".json") continue;
    try {
      out.push_back(from_json(json::parse(fs::read_file(e.path()))));
    } catch (const std::exception& ex) {
      throw Error("corrupt network record " + e.path().string() + ": " + ex.what());
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<NetworkDef> Networks::find(const std::string& ref) const {
  if (ref.empty()) return std::nullopt;
  std::vector<NetworkDef> prefixed;
  for (auto& n : list()) {
    if (n.name == ref || n.id == ref) return n;
    if (n.id.rfind(ref, 0) == 0) prefixed.push_back(n);
  }
  if (prefixed.size() == 1) return prefixed[0];
  return std::nullopt;
}

std::string Networks::name_of(const std::string& ref) const {
  if (auto n = find(ref)) return n->name;
  throw Error("network " + ref + " not found");
}

NetworkDef Networks::create(const std::string& name, const std::string& subnet) {
  check_network_name(name);
  fs::mkdir_p(dir_, 0700);
  FileLock lock(dir_ / ".lock");
  if (find(name)) throw Error("network with name " + name + " already exists");
  NetworkDef n;
  n.name = name;
  n.id = random_hex(32);
  n.bridge = "br-" + n.id.substr(0, 12);  // interface names: at most 15 characters
  n.table = "minictr-" + n.id.substr(0, 12);
  n.created = now_rfc3339();
  if (!subnet.empty()) {
    const net::Subnet s = net::Subnet::parse(subnet);
    for (const auto& other : list())
      if (net::Subnet::parse(other.subnet).overlaps(s))
        throw Error("invalid pool request: subnet " + s.cidr() + " overlaps network " + other.name + " (" +
                    other.subnet + ")");
  }
  net::Network::Options o = net::Network::default_options();
  o.bridge = n.bridge;
  o.table = n.table;
  o.subnet = subnet;
  o.subnet6.clear();
  n.subnet = net::Network(store_.root() / "network", o).create().cidr();  // refuses a subnet on a host route
  fs::write_file_atomic(dir_ / (n.id + ".json"), to_json(n).dump(2) + "\n", 0600);
  return n;
}

std::vector<std::string> Networks::containers_using(const std::string& name) const {
  std::vector<std::string> users;
  for (const auto& id : store_.ids()) {
    try {
      if (const auto mode = store_.config(id).network_mode;
          mode.attaches_to_bridge() && mode.network_name() == name)
        users.push_back(id);
      for (const auto& c : connected_networks(store_, id))
        if (c.network == name) users.push_back(id);
    } catch (const Error&) {
      // being removed right now
    }
  }
  return users;
}

void Networks::remove(const std::string& ref) {
  if (is_builtin_network(ref)) throw Error(ref + " is a pre-defined network and cannot be removed");
  FileLock lock(dir_ / ".lock");
  auto n = find(ref);
  if (!n) throw Error("network " + ref + " not found", 1);
  if (auto users = containers_using(n->name); !users.empty())
    throw Error("error while removing network: network " + n->name + " id " + n->id +
                " has active endpoints (" + std::to_string(users.size()) + " containers)");
  stop_network_dns(*n);
  net::Network network = open(n->name);
  if (!network.prune())
    throw Error("error while removing network: network " + n->name +
                " has active endpoints (in another state root)");
  network.remove_state_dir();
  fs::unlink_deferred(dir_ / (n->id + ".json"));
}

std::vector<std::string> Networks::prune() {
  std::vector<std::string> removed;
  for (const auto& n : list()) {
    if (!containers_using(n.name).empty()) continue;
    try {
      remove(n.id);
      removed.push_back(n.name);
    } catch (const Error&) {
      // in use meanwhile, or by another root: kept
    }
  }
  return removed;
}

net::Network::Options Networks::options_for(const std::string& network) const {
  net::Network::Options o = net::Network::default_options();
  if (is_builtin_network(network)) return o;
  auto n = find(network);
  if (!n || n->name != network) throw Error("network " + network + " not found");
  o.bridge = n->bridge;
  o.table = n->table;
  o.subnet = n->subnet;
  o.subnet6.clear();  // IPv6 ($MINICTR_SUBNET6) is for the default bridge only
  return o;
}

net::Network Networks::open(const std::string& network) const {
  return net::Network(store_.root() / "network", options_for(network));
}

}  // namespace mctr::container
