// minictr network create [--subnet CIDR] NAME | ls [-q] [--format ...] | inspect NAME... |
// rm NAME... | prune | connect [--alias A] NET CTR | disconnect [-f] NET CTR: user-defined bridge networks
// (container/networks.h), next to the built-in bridge, host and none.
#include <iostream>

#include "cli/verbs.h"
#include "container/network_connect.h"
#include "container/network_dns.h"
#include "container/networks.h"
#include "util/listing.h"

namespace mctr::cli {

using nlohmann::json;

// The fields of docker network ls --format, and its default table.
static const listing::Table kNetworkTable{{{"ID", "NETWORK ID"},
                                           {"Name", "NAME"},
                                           {"Driver", "DRIVER"},
                                           {"Scope", "SCOPE"},
                                           {"Subnet", "SUBNET"},
                                           {"Bridge", "BRIDGE"}},
                                          "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"};

// The built-in networks have no id in minictr: "-" in the table.
static std::vector<json> network_rows(const container::Networks& networks) {
  net::Network bridge = networks.open("bridge");
  const auto subnet = bridge.current_subnet();  // none until the bridge exists (or is configured)
  std::vector<json> rows{
      {{"ID", "-"},
       {"Name", "bridge"},
       {"Driver", "bridge"},
       {"Scope", "local"},
       {"Subnet", subnet ? subnet->cidr() : ""},
       {"Bridge", bridge.options().bridge}},
      {{"ID", "-"}, {"Name", "host"}, {"Driver", "host"}, {"Scope", "local"}, {"Subnet", ""}, {"Bridge", ""}},
      {{"ID", "-"},
       {"Name", "none"},
       {"Driver", "null"},
       {"Scope", "local"},
       {"Subnet", ""},
       {"Bridge", ""}}};
  for (const auto& n : networks.list())
    rows.push_back({{"ID", n.id.substr(0, 12)},
                    {"Name", n.name},
                    {"Driver", "bridge"},
                    {"Scope", "local"},
                    {"Subnet", n.subnet},
                    {"Bridge", n.bridge}});
  return rows;
}

static json inspect_network(const container::Networks& networks, const container::NetworkDef& n) {
  json containers = json::object();
  for (const auto& h : networks.open(n.name).hosts())
    containers[h.container_id] = {{"Name", h.name}, {"IPv4Address", h.ip}};
  const net::Subnet s = net::Subnet::parse(n.subnet);
  return {{"Name", n.name},
          {"Id", n.id},
          {"Created", n.created},
          {"Scope", "local"},
          {"Driver", "bridge"},
          {"IPAM",
           {{"Driver", "default"},
            {"Config", {{{"Subnet", n.subnet}, {"Gateway", net::format_ipv4(s.gateway())}}}}}},
          {"Containers", containers},
          {"Options", {{"com.docker.network.bridge.name", n.bridge}, {"minictr.nftables.table", n.table}}}};
}

void add_network(CLI::App& app, Globals& g) {
  auto* net = app.add_subcommand("network", "Manage networks");
  net->require_subcommand(1);

  auto* create = net->add_subcommand("create", "Create a bridge network");
  auto name = std::make_shared<std::string>();
  auto subnet = std::make_shared<std::string>();
  auto driver = std::make_shared<std::string>("bridge");
  create->add_option("name", *name, "Network name")->required();
  create->add_option("--subnet", *subnet,
                     "Subnet in CIDR format (default: the first free one of the address pools)");
  create->add_option("-d,--driver", *driver, "Driver (only bridge)");
  create->callback([&g, name, subnet, driver] {
    if (*driver != "bridge") throw Error("network driver " + *driver + " is not supported (only bridge)");
    container::Store store(g.root());
    std::cout << container::Networks(store).create(*name, *subnet).id << "\n";
    g.exit_code = 0;
  });

  auto* ls = net->add_subcommand("ls", "List networks");
  auto quiet = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>();
  ls->add_flag("-q,--quiet", *quiet, "Only display network IDs");
  ls->add_option("--format", *format, "table (default), json, 'table TEMPLATE' or a Go TEMPLATE");
  ls->callback([&g, quiet, format] {
    container::Store store(g.root());
    std::cout << listing::format_rows(*quiet ? "{{.ID}}" : *format, kNetworkTable,
                                      network_rows(container::Networks(store)));
    g.exit_code = 0;
  });

  auto* inspect = net->add_subcommand("inspect", "Show a network's details as JSON");
  auto refs = std::make_shared<std::vector<std::string>>();
  inspect->add_option("networks", *refs, "Network names or IDs")->required();
  inspect->callback([&g, refs] {
    container::Store store(g.root());
    container::Networks networks(store);
    json out = json::array();
    int rc = 0;
    for (const auto& r : *refs) {
      if (auto n = networks.find(r)) {
        out.push_back(inspect_network(networks, *n));
      } else {
        std::cerr << "minictr: error: network " << r << " not found\n";
        rc = 1;
      }
    }
    std::cout << out.dump(4) << "\n";
    g.exit_code = rc;
  });

  auto* rm = net->add_subcommand("rm", "Remove networks");
  auto rm_refs = std::make_shared<std::vector<std::string>>();
  rm->add_option("networks", *rm_refs, "Network names or IDs")->required();
  rm->callback([&g, rm_refs] {
    container::Store store(g.root());
    container::Networks networks(store);
    int rc = 0;
    for (const auto& r : *rm_refs) {
      try {
        networks.remove(r);
        std::cout << r << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
        rc = 1;
      }
    }
    g.exit_code = rc;
  });

  auto* connect = net->add_subcommand("connect", "Connect a running container to a network");
  auto c_net = std::make_shared<std::string>();
  auto c_ctr = std::make_shared<std::string>();
  auto c_aliases = std::make_shared<std::vector<std::string>>();
  connect->add_option("--alias", *c_aliases, "Add a network-scoped alias for the container");
  connect->add_option("network", *c_net, "Network name or ID")->required();
  connect->add_option("container", *c_ctr, "Container name or ID")->required();
  connect->callback([&g, c_net, c_ctr, c_aliases] {
    container::Store store(g.root());
    container::connect_network(store, *c_net, *c_ctr, *c_aliases);
    g.exit_code = 0;
  });

  auto* disconnect = net->add_subcommand("disconnect", "Disconnect a container from a network");
  auto d_net = std::make_shared<std::string>();
  auto d_ctr = std::make_shared<std::string>();
  auto d_force = std::make_shared<bool>(false);
  disconnect->add_flag("-f,--force", *d_force, "Force the container to disconnect from a network");
  disconnect->add_option("network", *d_net, "Network name or ID")->required();
  disconnect->add_option("container", *d_ctr, "Container name or ID")->required();
  disconnect->callback([&g, d_net, d_ctr, d_force] {
    container::Store store(g.root());
    container::disconnect_network(store, *d_net, *d_ctr, *d_force);
    g.exit_code = 0;
  });

  // Not for users: the name server of a user network, started by the first
  // container that attaches to it (container/network_dns.h).
  auto* dns = net->add_subcommand("dns-serve", "Serve a user network's names (started by minictr)");
  dns->group("");
  auto bridge = std::make_shared<std::string>();
  dns->add_option("--bridge", *bridge, "The network's bridge")->required();
  dns->callback([&g, bridge] { g.exit_code = container::serve_network_dns(*bridge); });

  auto* prune = net->add_subcommand(
      "prune",
      "Remove user networks no container uses, and the default bridge and table if no container uses them");
  auto force = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *force, "Do not prompt for confirmation (accepted for Docker compatibility)");
  prune->callback([&g] {
    container::Store store(g.root());
    container::Networks networks(store);
    auto removed = networks.prune();
    if (!removed.empty()) std::cout << "Deleted Networks:\n";
    for (const auto& n : removed) std::cout << n << "\n";
    networks.open("bridge").prune();
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
