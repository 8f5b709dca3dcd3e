#include "container/network_connect.h"

#include <algorithm>

#include "container/etc_files.h"
#include "container/network_dns.h"
#include "container/networks.h"
#include "linux/net/balanced.h"
#include "linux/proc.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"

namespace mctr::container {

using nlohmann::json;

namespace {

std::filesystem::path record_path(const Store& store, const std::string& id) {
  return store.dir(id) / "connected.json";
}

// Held while the record and the leases it names change: a connect and the
// container's teardown never interleave (the teardown sees every network a
// connect made, or the connect sees the container gone).
FileLock lock_record(const Store& store, const std::string& id) {
  return FileLock(store.dir(id) / "connected.lock");
}

json to_json(const ConnectedNetwork& c) {
  const net::Attachment& a = c.attachment;
  return {{"Network", c.network},        {"IfName", c.ifname},   {"IPAddress", a.ip},
          {"IPPrefixLen", a.prefix_len}, {"Gateway", a.gateway}, {"MacAddress", a.mac},
          {"HostVeth", a.host_veth},     {"Aliases", c.aliases}, {"Attached", c.attached}};
}

ConnectedNetwork from_json(const json& j) {
  ConnectedNetwork c;
  c.network = j.at("Network");
  c.ifname = j.at("IfName");
  c.attachment.ip = j.value("IPAddress", "");
  c.attachment.prefix_len = j.value("IPPrefixLen", 16);
  c.attachment.gateway = j.value("Gateway", "");
  c.attachment.mac = j.value("MacAddress", "");
  c.attachment.host_veth = j.value("HostVeth", "");
  c.aliases = j.value("Aliases", std::vector<std::string>{});
  c.attached = j.value("Attached", true);  // records before connections outlived a run
  return c;
}

std::vector<ConnectedNetwork> read_record(const Store& store, const std::string& id) {
  std::vector<ConnectedNetwork> out;
  const auto text = fs::read_file_if_exists(record_path(store, id));
  if (!text) return out;
  for (const auto& j : json::parse(*text)) out.push_back(from_json(j));
  return out;
}

void write_record(const Store& store, const std::string& id, const std::vector<ConnectedNetwork>& nets) {
  if (nets.empty()) {
    fs::unlink_deferred(record_path(store, id));
    return;
  }
  json out = json::array();
  for (const auto& c : nets) out.push_back(to_json(c));
  fs::write_file_atomic(record_path(store, id), out.dump(2) + "\n", 0600, false);
}

// Is `network` the one the container was created on (not connected later)?
bool is_own_network(const Config& cfg, const std::string& network) {
  return cfg.network_mode.attaches_to_bridge() && cfg.network_mode.network_name() == network;
}

// Docker's refusals for a container whose network mode has no bridge.
void check_mode_can_connect(const NetworkMode& mode) {
  if (mode.kind == NetworkMode::Kind::kHost)
    throw Error("container cannot be disconnected from host network or connected to host network", 1);
  if (mode.kind == NetworkMode::Kind::kNone)
    throw Error(
        "container cannot be connected to multiple networks with one of the networks in private (none) mode",
        1);
  if (!mode.attaches_to_bridge())
    throw Error(
        "container sharing network namespace with another container or host cannot be connected to any "
        "other network",
        1);
}

// "eth1", "eth2", ...: the first one no connected network uses.
std::string free_ifname(const std::vector<ConnectedNetwork>& nets) {
  for (int n = 1;; ++n) {
    std::string name = "eth" + std::to_string(n);
    if (std::none_of(nets.begin(), nets.end(), [&](const auto& c) { return c.ifname == name; })) return name;
  }
}

// The container's resolv.conf, and the copy of what it said before a
// connect pointed it at a user network's name server.
std::filesystem::path resolv_conf(const Store& store, const std::string& id) {
  return store.dir(id) / "resolv.conf";
}
std::filesystem::path own_resolv_conf(const Store& store, const std::string& id) {
  return store.dir(id) / "resolv.conf.own";
}

// A container on the default bridge has the host's name servers (that
// bridge has no name server, as Docker's). Connected to a user network it
// gets Docker's 127.0.0.11, answered by the first such network's server
// (which answers for all of its user networks, dns_server.h), as Docker
// starts its resolver when the first such network joins; back to its own
// when the last one leaves. `pid`: its init, 0 when it does not run.
// Rewritten in place: the file is bind-mounted in the container.
void point_resolv_conf(const Store& store, const std::string& id, const Config& cfg,
                       const std::vector<ConnectedNetwork>& nets, pid_t pid) {
  if (cfg.network_mode.kind != NetworkMode::Kind::kBridge) return;  // a user network's server answers already
  std::string server;
  for (const auto& c : nets)
    if (c.network != "bridge" && c.attached && pid > 0 && server.empty())
      if (auto n = Networks(store).find(c.network)) server = serve_container_dns(*n, id, pid);
  const auto own = own_resolv_conf(store, id);
  const auto saved = fs::read_file_if_exists(own);
  if (server.empty()) {
    if (!saved) return;
    fs::write_file(resolv_conf(store, id), *saved);
    fs::unlink_deferred(own);
    return;
  }
  const std::string text = saved ? *saved : fs::read_file_if_exists(resolv_conf(store, id)).value_or("");
  if (!saved) fs::write_file_atomic(own, text, 0600, false);
  fs::write_file(resolv_conf(store, id), resolver_resolv_conf(text, server));
}

// The interface, its lease and what follows from them: the network's
// balanced ports (the container's health as it is now; the monitor reports
// the changes from here on) and its name server.
void attach_one(const Store& store, const Config& cfg, ConnectedNetwork& c, pid_t pid) {
  const std::string& id = cfg.id;
  net::NetworkRequest req{id, cfg.name, {}, c.aliases};
  req.ifname = c.ifname;
  req.host_veth = "mctr" + id.substr(0, 8) + "." + c.ifname.substr(3);  // at most 15 characters
  c.attachment = Networks(store).open(c.network).attach(req, pid);
  c.attached = true;
  if (cfg.healthcheck) {
    const auto health = store.state(id).health;
    net::set_member_health(Networks(store).options_for(c.network), id,
                           std::string(to_string(health ? health->status : HealthStatus::kStarting)));
  }
  // Its name server runs (it may have had no container before): the server
  // at the container's 127.0.0.11 answers names of networks that have one.
  if (c.network != "bridge")
    if (auto n = Networks(store).find(c.network)) start_network_dns(*n);
}

void detach_one(const Store& store, const std::string& id, const ConnectedNetwork& c) {
  if (!c.attached) return;
  try {
    Networks(store).open(c.network).detach(id);
  } catch (const Error&) {
    // Its network is gone (removed with -f meanwhile): so is the lease.
  }
  // If its server answered at the container's 127.0.0.11, it stops now, not
  // when it next reads the leases: another network's server may take over.
  if (c.network != "bridge")
    if (auto n = Networks(store).find(c.network)) stop_container_dns(*n, id);
}

// The container's init if it runs, else 0.
pid_t running_pid(const Store& store, const std::string& id) {
  const State s = observed_state(store, id);
  return s.pid > 0 && !s.restarting && linux_proc::alive(s.pid, s.pid_start) ? s.pid : 0;
}

}  // namespace

ConnectedNetwork connect_network(const Store& store, const std::string& network_ref,
                                 const std::string& container_ref, const std::vector<std::string>& aliases) {
  const std::string id = store.resolve(container_ref);
  const Config cfg = store.config(id);
  if (network_ref == "host" || network_ref == "none") check_mode_can_connect(NetworkMode::parse(network_ref));
  const std::string network = network_ref == "bridge" ? "bridge" : Networks(store).name_of(network_ref);
  check_mode_can_connect(cfg.network_mode);
  if (!aliases.empty() && network == "bridge")
    throw Error("network-scoped alias is supported only for containers in user defined networks", 1);
  auto lock = lock_record(store, id);
  auto nets = read_record(store, id);
  const bool on_it =
      is_own_network(cfg, network) ||
      std::any_of(nets.begin(), nets.end(), [&](const auto& c) { return c.network == network; });
  if (on_it) throw Error("endpoint with name " + cfg.name + " already exists in network " + network, 1);
  ConnectedNetwork c;
  c.network = network;
  c.ifname = free_ifname(nets);
  c.aliases = aliases;
  // A container that does not run now is attached at its next start.
  const State s = observed_state(store, id);
  if (s.status == Status::kRunning && !s.restarting && linux_proc::alive(s.pid, s.pid_start))
    attach_one(store, cfg, c, s.pid);
  nets.push_back(c);
  write_record(store, id, nets);
  if (c.attached) point_resolv_conf(store, id, cfg, nets, s.pid);
  return c;
}

void disconnect_network(const Store& store, const std::string& network_ref, const std::string& container_ref,
                        bool force) {
  std::string id;
  try {
    id = store.resolve(container_ref);
  } catch (const Error&) {
    if (force) return;
    throw;
  }
  const Config cfg = store.config(id);
  auto n = Networks(store).find(network_ref);
  const std::string network = network_ref == "bridge" ? "bridge" : (n ? n->name : network_ref);
  if (network == "host" || network == "none") check_mode_can_connect(NetworkMode::parse(network));
  if (!n && network != "bridge" && !force) throw Error("network " + network_ref + " not found", 1);
  auto lock = lock_record(store, id);
  auto nets = read_record(store, id);
  auto it = std::find_if(nets.begin(), nets.end(), [&](const auto& c) { return c.network == network; });
  if (it == nets.end()) {
    if (force) return;
    if (is_own_network(cfg, network))
      throw Error("container " + cfg.name + " is on " + network +
                      " as its own network: minictr disconnects only networks added by `network connect`",
                  1);
    throw Error("container " + id.substr(0, 12) + " is not connected to network " + network, 1);
  }
  detach_one(store, id, *it);
  nets.erase(it);
  write_record(store, id, nets);
  point_resolv_conf(store, id, cfg, nets, running_pid(store, id));
}

std::vector<ConnectedNetwork> connected_networks(const Store& store, const std::string& id) {
  try {
    return read_record(store, id);
  } catch (const std::exception&) {
    return {};  // being removed right now
  }
}

void release_connected_networks(const Store& store, const std::string& id) {
  if (!std::filesystem::exists(record_path(store, id))) return;
  auto lock = lock_record(store, id);
  auto nets = read_record(store, id);
  for (auto& c : nets) {
    detach_one(store, id, c);
    c.attachment = {};
    c.attached = false;
  }
  write_record(store, id, nets);
  fs::unlink_deferred(own_resolv_conf(store, id));  // the next start writes resolv.conf anew
}

void reconnect_networks(const Store& store, const Config& cfg, pid_t pid) {
  if (!std::filesystem::exists(record_path(store, cfg.id))) return;
  auto lock = lock_record(store, cfg.id);
  auto nets = read_record(store, cfg.id);
  for (auto& c : nets) {
    if (c.attached) continue;
    if (c.network != "bridge" && !Networks(store).find(c.network))
      throw Error("network " + c.network + " not found (the container was connected to it)");
    attach_one(store, cfg, c, pid);
    write_record(store, cfg.id, nets);  // each as it is made: the teardown undoes what is recorded
  }
  point_resolv_conf(store, cfg.id, cfg, nets, pid);
}

void add_connected_networks(json& networks, const Store& store, const std::string& id) {
  for (const auto& c : connected_networks(store, id))
    networks[c.network] = {{"IPAddress", c.attachment.ip},
                           {"IPPrefixLen", c.attachment.prefix_len},
                           {"Gateway", c.attachment.gateway},
                           {"MacAddress", c.attachment.mac},
                           {"Aliases", c.aliases}};
}

}  // namespace mctr::container
