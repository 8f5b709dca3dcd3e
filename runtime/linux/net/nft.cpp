#include "linux/net/nft.h"

#include <sstream>

#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace mctr::net {

namespace {

// Each call is one run of the `nft` tool (Debian's nftables package), as
// Docker runs iptables: the rule text below is exactly what a person would
// type. Linking libnftables instead would make minictr a dynamic executable
// (it has no static archive), and every command, `run` above all, would pay
// for loading shared libraries at start.
ProcessResult nft_tool(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), "nft");
  try {
    return run_process(args, input);
  } catch (const SysError& e) {
    if (e.err() == ENOENT) throw Error("nft not found: apt-get install nftables");
    throw;
  }
}

}  // namespace

void Nft::run(const std::string& commands) {
  if (explain::on()) {
    if (commands.find('\n') == std::string::npos || commands.find('\n') == commands.size() - 1) {
      explain::step("nft", "nft " + commands.substr(0, commands.find('\n')));
    } else {  // a whole ruleset, in one transaction
      std::string heredoc = "nft -f - <<'EOF'\n";
      std::istringstream lines(commands);
      for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t") != std::string::npos) heredoc += line + "\n";
      explain::step("nft", heredoc + "EOF");
    }
  }
  // -f -: the commands are read as one file, so they apply as one atomic
  // transaction in the kernel: all of them, or none.
  ProcessResult r = nft_tool({"-f", "-"}, commands);
  if (r.status != 0) throw Error("nftables: " + fs::trim(r.err));
}

bool Nft::table_exists(const std::string& table, Family family) {
  return netlink_.table_exists(table, family);
}

namespace {

// minictr's table for one family; the two differ in two lines.
std::string base_table(Family f, const std::string& table, const std::string& bridge,
                       const std::string& subnet_cidr) {
  const bool v6 = f == Family::kIp6;
  const std::string family = to_string(f);
  const std::string br = "\"" + bridge + "\"";
  // Published ports: any packet addressed to one of this host's own addresses
  // (`fib daddr type local`, like Docker's `-m addrtype --dst-type LOCAL`) goes
  // through `hostports`, where each container has one DNAT rule per port.
  // prerouting sees packets arriving from outside and from containers;
  // output sees the host's own connections (curl 127.0.0.1:8080).
  //
  // postrouting, in order:
  //  1. containers going anywhere but the bridge leave with the host's address;
  //  2. localhost -> container: after DNAT in output the packet still has
  //     source 127.0.0.1, which a container could never answer (and which the
  //     kernel drops as martian unless route_localnet=1 on the bridge): give it
  //     the bridge's address instead (CNI portmap and Docker do the same);
  //  3. hairpin: container A -> host:8080 -> container B on the same bridge.
  //     Without it B would answer A directly (same L2) with the wrong source.
  //
  // forward: accept traffic from and (established, or DNAT'ed) to the bridge.
  // This only helps when the host's own forward policy lives in this table's
  // priority; a drop in another table (e.g. iptables FORWARD DROP) still wins.
  // IPv6 has no route_localnet, so ::1 is never published (see nft.h): the
  // output chain skips it and postrouting has no rule 2.
  std::string out = "table " + family + " " + table + " {\n";
  out += "  chain hostports {\n  }\n";
  out += "  chain prerouting {\n";
  out += "    type nat hook prerouting priority dstnat; policy accept;\n";
  out += "    fib daddr type local jump hostports\n";
  out += "  }\n";
  out += "  chain output {\n";
  out += "    type nat hook output priority -100; policy accept;\n";
  out += std::string("    ") + (v6 ? "ip6 daddr != ::1 " : "") + "fib daddr type local jump hostports\n";
  out += "  }\n";
  out += "  chain postrouting {\n";
  out += "    type nat hook postrouting priority srcnat; policy accept;\n";
  out += "    " + family + " saddr " + subnet_cidr + " oifname != " + br + " masquerade\n";
  if (!v6) out += "    oifname " + br + " ip saddr 127.0.0.0/8 masquerade\n";
  out += "    oifname " + br + " ct status dnat " + family + " saddr " + subnet_cidr + " masquerade\n";
  out += "  }\n";
  out += "  chain forward {\n";
  out += "    type filter hook forward priority filter; policy accept;\n";
  out += "    iifname " + br + " accept\n";
  out += "    oifname " + br + " ct state established,related accept\n";
  out += "    oifname " + br + " ct status dnat accept\n";
  out += "  }\n";
  out += "}\n";
  return out;
}

}  // namespace

std::string localnet_guard_rules(const std::string& table, const std::string& bridge) {
  // route_localnet=1 on the bridge (see Network::ensure_bridge) also lets a
  // container send the gateway a packet *to* 127.0.0.1, which the host then
  // delivers to services bound only to its loopback (CVE-2020-8558; a raw
  // socket, CAP_NET_RAW, is all it takes). kube-proxy's answer: drop what
  // arrives on the bridge for 127.0.0.0/8 unless conntrack NAT'ed it. The
  // replies of the host's own `curl 127.0.0.1:8080` (DNAT'ed in output) come
  // back from the bridge with destination 127.0.0.1 once un-masqueraded, and
  // carry `ct status dnat`, so they pass; a published 127.0.0.1 port a
  // container aims at is DNAT'ed in prerouting, before this hook, and no
  // longer goes to 127/8.
  const std::string br = "\"" + bridge + "\"";
  const std::string chain = "add chain ip " + table + " " + kLocalnetGuardChain;
  std::string out = chain + " { type filter hook input priority filter; policy accept; }\n";
  const std::string rule = "add rule ip " + table + " " + kLocalnetGuardChain + " iifname " + br;
  out += rule + " ip daddr 127.0.0.0/8 ct status dnat accept\n";
  out += rule + " ip daddr 127.0.0.0/8 drop\n";
  return out;
}

std::string base_table_rules(const std::string& table, const std::string& bridge, const Subnet& subnet) {
  return base_table(Family::kIp, table, bridge, subnet.cidr()) + localnet_guard_rules(table, bridge);
}

std::string base_table_rules6(const std::string& table, const std::string& bridge, const Subnet6& subnet) {
  return base_table(Family::kIp6, table, bridge, subnet.cidr());
}

std::string dnat_rules(const std::string& table, const std::string& container_id,
                       const std::vector<DnatRule>& rules, Family f) {
  const bool v6 = f == Family::kIp6;
  const std::string family = to_string(f);
  std::string out;
  for (const DnatRule& r : rules) {
    out += "add rule " + family + " " + table + " hostports ";
    if (!r.host_ip.empty()) out += family + " daddr " + r.host_ip + " ";
    // IPv6 addresses are bracketed so the port's colon is not part of them.
    const std::string to = v6 ? "[" + r.container_ip + "]" : r.container_ip;
    out += r.proto + " dport " + std::to_string(r.host_port) + " dnat to " + to + ":" +
           std::to_string(r.container_port) + " comment \"" + container_id + "\"\n";
  }
  return out;
}

std::string balanced_dnat_rule(const std::string& table, const std::string& tag, const BalancedDnat& r) {
  if (r.backend_ips.empty()) return "";
  std::string map;
  for (size_t i = 0; i < r.backend_ips.size(); ++i)
    map += (i ? ", " : "") + std::to_string(i) + " : " + r.backend_ips[i];
  std::string out = "add rule ip " + table + " hostports ";
  if (!r.host_ip.empty()) out += "ip daddr " + r.host_ip + " ";
  return out + r.proto + " dport " + std::to_string(r.host_port) + " dnat to numgen inc mod " +
         std::to_string(r.backend_ips.size()) + " map { " + map + " } : " + std::to_string(r.container_port) +
         " comment \"" + tag + "\"\n";
}

std::vector<TaggedRule> rules_tagged(Nft& nft, const std::string& table, const std::string& tag,
                                     Family family) {
  return nft.netlink().rules_tagged(table, tag, family);
}

size_t delete_rules_tagged(Nft& nft, const std::string& table, const std::string& tag, Family family) {
  std::vector<TaggedRule> rules = rules_tagged(nft, table, tag, family);
  for (const TaggedRule& r : rules)
    explain::step("nft(netlink)", "nft delete rule " + std::string(to_string(family)) + " " + table + " " +
                                      r.chain + " handle " + std::to_string(r.handle));
  nft.netlink().delete_rules(table, rules, family);
  return rules.size();
}

}  // namespace mctr::net
