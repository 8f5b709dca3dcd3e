#include "linux/net/nft.h"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"

namespace mctr::net {

namespace {

// libnftables is opened with dlopen() the first time a network needs it,
// not linked: as a linked library it and the five it pulls in (libnftnl,
// libmnl, libjansson, libgmp, libxtables) would be mapped and relocated at
// the start of every minictr command, ~1 ms each time, even for
// `--network none`. The header still gives every function its type.
struct NftablesApi {
  decltype(&nft_ctx_new) ctx_new;
  decltype(&nft_ctx_free) ctx_free;
  decltype(&nft_ctx_buffer_output) buffer_output;
  decltype(&nft_ctx_buffer_error) buffer_error;
  decltype(&nft_ctx_get_output_buffer) get_output_buffer;
  decltype(&nft_ctx_get_error_buffer) get_error_buffer;
  decltype(&nft_ctx_output_get_flags) output_get_flags;
  decltype(&nft_ctx_output_set_flags) output_set_flags;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer;
};

// The library's soname (Debian's libnftables1 package).
constexpr const char* kLibnftables = "libnftables.so.1";

template <typename F>
void resolve(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(::dlsym(lib, name));
  if (!fn) throw Error(std::string(kLibnftables) + " has no " + name + " (too old?)");
}

NftablesApi load_nftables() {
  // Never dlclose()d: the handle lives as long as the process.
  void* lib = ::dlopen(kLibnftables, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw Error(std::string("cannot load ") + kLibnftables +
                " (apt-get install libnftables1): " + ::dlerror());
  NftablesApi api{};
  resolve(lib, "nft_ctx_new", api.ctx_new);
  resolve(lib, "nft_ctx_free", api.ctx_free);
  resolve(lib, "nft_ctx_buffer_output", api.buffer_output);
  resolve(lib, "nft_ctx_buffer_error", api.buffer_error);
  resolve(lib, "nft_ctx_get_output_buffer", api.get_output_buffer);
  resolve(lib, "nft_ctx_get_error_buffer", api.get_error_buffer);
  resolve(lib, "nft_ctx_output_get_flags", api.output_get_flags);
  resolve(lib, "nft_ctx_output_set_flags", api.output_set_flags);
  resolve(lib, "nft_run_cmd_from_buffer", api.run_cmd_from_buffer);
  return api;
}

const NftablesApi& nftables() {
  static const NftablesApi api = load_nftables();  // thread-safe, once
  return api;
}

}  // namespace

Nft::Nft() : ctx_(nftables().ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw Error("nft_ctx_new failed");
  // Keep output and errors in memory instead of printing to stdout/stderr.
  nftables().buffer_output(ctx_);
  nftables().buffer_error(ctx_);
}

Nft::~Nft() { nftables().ctx_free(ctx_); }

// libnftables keeps appending to its output/error buffers; each get returns
// what accumulated since the previous get and starts over.
namespace {
struct Result {
  bool ok;
  std::string output, error;
};
Result run_buffered(nft_ctx* ctx, const std::string& commands) {
  const NftablesApi& api = nftables();
  bool ok = api.run_cmd_from_buffer(ctx, commands.c_str()) == 0;
  return {ok, api.get_output_buffer(ctx), fs::trim(api.get_error_buffer(ctx))};
}
}  // namespace

void Nft::run(const std::string& commands) {
  if (explain::on()) {
    if (commands.find('\n') == std::string::npos || commands.find('\n') == commands.size() - 1) {
      explain::step("nft(netlink)", "nft " + commands.substr(0, commands.find('\n')));
    } else {  // a whole ruleset: the same text works as `nft -f -` input
      explain::step("nft(netlink)", "nft -f - <<'EOF'");
      std::istringstream lines(commands);
      for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t") != std::string::npos) explain::step("", line);
      explain::step("", "EOF");
    }
  }
  Result r = run_buffered(ctx_, commands);
  if (!r.ok) throw Error("nftables: " + r.error);
}

std::string Nft::list_json(const std::string& command) {
  unsigned flags = nftables().output_get_flags(ctx_);
  nftables().output_set_flags(ctx_, flags | NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  Result r = run_buffered(ctx_, command);
  nftables().output_set_flags(ctx_, flags);
  if (!r.ok) throw Error("nftables: " + r.error);
  return r.output;
}

bool Nft::table_exists(const std::string& table, const std::string& family) {
  Result r = run_buffered(ctx_, "list table " + family + " " + table);
  if (r.ok) return true;
  if (r.error.find("No such file or directory") != std::string::npos) return false;
  throw Error("nftables: " + r.error);
}

namespace {

// minictr's table for one family ("ip" or "ip6"); the two differ in two lines.
std::string base_table(const std::string& family, const std::string& table, const std::string& bridge,
                       const std::string& subnet_cidr) {
  const bool v6 = family == "ip6";
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

std::string base_table_rules(const std::string& table, const std::string& bridge, const Subnet& subnet) {
  return base_table("ip", table, bridge, subnet.cidr());
}

std::string base_table_rules6(const std::string& table, const std::string& bridge, const Subnet6& subnet) {
  return base_table("ip6", table, bridge, subnet.cidr());
}

std::string dnat_rules(const std::string& table, const std::string& container_id,
                       const std::vector<DnatRule>& rules, const std::string& family) {
  const bool v6 = family == "ip6";
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

std::vector<TaggedRule> rules_tagged(Nft& nft, const std::string& table, const std::string& tag,
                                     const std::string& family) {
  if (!nft.table_exists(table, family)) return {};
  auto doc = nlohmann::json::parse(nft.list_json("list table " + family + " " + table));
  std::vector<TaggedRule> out;
  for (const auto& item : doc.at("nftables")) {
    if (!item.contains("rule")) continue;
    const auto& rule = item["rule"];
    if (rule.value("comment", "") != tag) continue;
    out.push_back({rule.at("chain").get<std::string>(), rule.at("handle").get<uint64_t>()});
  }
  return out;
}

size_t delete_rules_tagged(Nft& nft, const std::string& table, const std::string& tag,
                           const std::string& family) {
  std::vector<TaggedRule> rules = rules_tagged(nft, table, tag, family);
  if (rules.empty()) return 0;
  std::string cmds;
  for (const TaggedRule& r : rules)
    cmds +=
        "delete rule " + family + " " + table + " " + r.chain + " handle " + std::to_string(r.handle) + "\n";
  nft.run(cmds);
  return rules.size();
}

}  // namespace mctr::net
