#include "linux/net/subnet_pool.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::net {

std::vector<AddressPool> default_address_pools() {
  std::vector<AddressPool> pools;
  for (uint32_t second = 17; second <= 31; ++second)
    pools.push_back({Subnet{(172u << 24) | (second << 16), 16}, 16});
  pools.push_back({Subnet{(192u << 24) | (168u << 16), 16}, 20});
  return pools;
}

std::optional<Subnet> first_free_subnet(const std::vector<AddressPool>& pools,
                                        const std::vector<Subnet>& in_use) {
  for (const AddressPool& pool : pools) {
    const uint64_t step = uint64_t{1} << (32 - pool.size);
    const uint64_t end = uint64_t{pool.base.network} + (uint64_t{1} << (32 - pool.base.prefix_len));
    for (uint64_t net = pool.base.network; net < end; net += step) {
      Subnet candidate{static_cast<uint32_t>(net), pool.size};
      bool taken = false;
      for (const Subnet& used : in_use) taken = taken || candidate.overlaps(used);
      if (!taken) return candidate;
    }
  }
  return std::nullopt;
}

std::filesystem::path settings_file() {
  if (const char* s = std::getenv("MINICTR_CONFIG"); s && *s) return s;
  return "/etc/minictr/daemon.json";
}

namespace {

// "10.99.0.1/16" (Docker's bip: the bridge's address) -> 10.99.0.0/16.
Subnet subnet_of_bip(const std::string& bip, const std::string& where) {
  const auto slash = bip.find('/');
  if (slash == std::string::npos) throw Error(where + ": bip: expected ADDRESS/PREFIX, got '" + bip + "'");
  try {
    const uint32_t addr = parse_ipv4(bip.substr(0, slash));
    Subnet s = Subnet::parse("0.0.0.0" + bip.substr(slash));  // checks the prefix length
    s.network = addr & s.mask();
    return s;
  } catch (const Error& e) {
    throw Error(where + ": bip: " + e.what());
  }
}

AddressPool parse_pool(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("base") || !j["base"].is_string() || !j.contains("size") ||
      !j["size"].is_number_integer())
    throw Error(where +
                ": default-address-pools: each entry needs \"base\" (a CIDR) and \"size\" (a prefix length)");
  AddressPool p;
  try {
    p.base = Subnet::parse(j["base"].get<std::string>());
  } catch (const Error& e) {
    throw Error(where + ": default-address-pools: " + e.what());
  }
  p.size = j["size"].get<int>();
  if (p.size < p.base.prefix_len || p.size > 30)
    throw Error(where + ": default-address-pools: size " + std::to_string(p.size) +
                " must be between the base's prefix (" + std::to_string(p.base.prefix_len) + ") and 30");
  return p;
}

}  // namespace

NetworkSettings parse_network_settings(const std::string& json_text, const std::string& where) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw Error(where + ": expected a JSON object");
  NetworkSettings s;
  if (doc.contains("bip")) {
    if (!doc["bip"].is_string()) throw Error(where + ": bip: expected a string like \"10.99.0.1/16\"");
    s.subnet = subnet_of_bip(doc["bip"].get<std::string>(), where).cidr();
  }
  if (doc.contains("default-address-pools")) {
    if (!doc["default-address-pools"].is_array())
      throw Error(where + ": default-address-pools: expected a list");
    for (const auto& j : doc["default-address-pools"]) s.pools.push_back(parse_pool(j, where));
  }
  return s;
}

NetworkSettings read_network_settings(const std::filesystem::path& file) {
  auto text = fs::read_file_if_exists(file);
  if (!text) return {};
  return parse_network_settings(*text, file.string());
}

}  // namespace mctr::net
