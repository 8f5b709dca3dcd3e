// What the supervisor and the init take from the bundle: the mirror of
// spec_from_config, and the refusal of what minictr cannot run yet.
#include "container/from_bundle.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "container/bundle.h"
#include "expect_error.h"

namespace c = mctr::container;
namespace oci = mctr::oci;
using nlohmann::json;

namespace {

c::Config config() {
  c::Config cfg;
  cfg.id = "0123456789abcdef0123456789abcdef";
  cfg.args = {"sh"};
  cfg.hostname = "h";
  cfg.mounts = {{"bind", "/host/data", "", "/data", true}};
  cfg.resources.memory = 64 << 20;
  cfg.resources.memory_swap = 128 << 20;
  cfg.resources.cpus = 0.5;
  cfg.resources.cpu_shares = 256;
  cfg.resources.cpuset_mems = "0";
  cfg.resources.pids_limit = 50;
  return cfg;
}

oci::Spec spec() { return c::spec_from_config(config(), "/state/ctr", "/state/rootfs"); }

// The spec through JSON with one change, as a hand-edited config.json.
oci::Spec edited(const std::function<void(json&)>& edit) {
  json j = oci::to_json(spec());
  edit(j);
  return oci::parse_spec(j);
}

}  // namespace

TEST(FromBundle, WhatSpecFromConfigWroteIsSupported) {
  EXPECT_NO_THROW(c::check_supported(spec()));
  c::Config cfg = config();
  cfg.security.privileged = true;
  cfg.network_mode = c::NetworkMode::parse("host");
  EXPECT_NO_THROW(c::check_supported(c::spec_from_config(cfg, "/d", "/r")));
  // run --userns: a user namespace with one range for uids and gids.
  cfg = config();
  cfg.userns = "0:100000:65536";
  oci::Spec s = c::spec_from_config(cfg, "/d", "/r");
  EXPECT_NO_THROW(c::check_supported(s));
  auto maps = c::user_namespace_maps(s);
  ASSERT_TRUE(maps);
  ASSERT_EQ(maps->uids.size(), 1u);
  EXPECT_EQ(maps->uids[0].host_id, 100000u);
  EXPECT_EQ(maps->gids[0].size, 65536u);
  EXPECT_FALSE(c::user_namespace_maps(spec()));
}

TEST(FromBundle, RefusesWhatItCannotDoYetNamingTheField) {
  EXPECT_ERROR(
      c::check_supported(edited([](json& j) { j["linux"]["namespaces"][5]["path"] = "/proc/1/ns/net"; })),
      "config.json: linux.namespaces[5].path: joining an existing namespace is not supported");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["linux"]["namespaces"].push_back({{"type", "user"}});
               })),
               "linux.uidMappings: a user namespace needs uid and gid mappings");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["linux"]["namespaces"].push_back({{"type", "user"}});
                 j["linux"]["uidMappings"] = {{{"containerID", 1}, {"hostID", 100000}, {"size", 10}}};
                 j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 10}}};
               })),
               "container id 0 (root) must be mapped");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 10}}};
               })),
               "linux.uidMappings: id mappings need a user namespace");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["linux"]["namespaces"].push_back({{"type", "time"}});
               })),
               "linux.namespaces[6].type: a time namespace");
  EXPECT_ERROR(c::check_supported(edited([](json& j) { j["linux"]["namespaces"].erase(0); })),
               "sharing the runtime's pid namespace");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["mounts"].push_back({{"destination", "/run"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
               })),
               "mounts[11]: a mount of type \"tmpfs\" at /run");
  EXPECT_ERROR(c::check_supported(edited([](json& j) { j["linux"]["maskedPaths"] = {"/proc/kcore"}; })),
               "linux.maskedPaths: a list other than Docker's");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
               })),
               "linux.sysctl");
  EXPECT_ERROR(c::check_supported(edited([](json& j) {
                 j["hooks"] = {{"poststop", {{{"path", "/bin/true"}}}}};
               })),
               "hooks: running hooks");
  EXPECT_ERROR(
      c::check_supported(edited([](json& j) {
        j["linux"]["resources"]["devices"].push_back({{"allow", false}, {"type", "c"}, {"access", "r"}});
      })),
      "linux.resources.devices[13]: a deny rule after the first");
  EXPECT_ERROR(c::check_supported(edited([](json& j) { j.erase("process"); })),
               "config.json: process: required");
}

TEST(FromBundle, MirrorsSpecFromConfig) {
  oci::Spec s = spec();
  EXPECT_TRUE(c::has_new_network_namespace(s));
  auto binds = c::bind_mounts(s);
  ASSERT_EQ(binds.size(), 4u);  // the volume, then /etc/hostname, hosts, resolv.conf
  EXPECT_EQ(binds[0].source, "/host/data");
  EXPECT_EQ(binds[0].destination, "/data");
  EXPECT_TRUE(binds[0].read_only);
  EXPECT_EQ(binds[2].destination, "/etc/hosts");
  EXPECT_FALSE(binds[2].read_only);
  EXPECT_TRUE(c::cgroups_read_only(s));
  EXPECT_TRUE(c::masks_paths(s));
  auto r = c::cgroup_resources(s);
  EXPECT_EQ(r.memory, 64 << 20);
  EXPECT_EQ(r.memory_swap, 128 << 20);
  EXPECT_DOUBLE_EQ(*r.cpus, 0.5);
  EXPECT_EQ(r.cpu_shares, 256u);
  EXPECT_FALSE(r.cpuset_cpus);
  EXPECT_EQ(r.cpuset_mems, "0");
  EXPECT_EQ(r.pids_limit, 50);
  auto devices = c::device_allow_rules(s);
  EXPECT_EQ(devices.size(), mctr::cgroup::device_allow_list(false).size());
  EXPECT_EQ(mctr::cgroup::to_string(devices[2]), "c 1:3 rwm");
  EXPECT_EQ(mctr::cgroup::to_string(devices.back()),
            mctr::cgroup::to_string(mctr::cgroup::device_allow_list(false).back()));
  auto caps = c::kept_capabilities(*s.process);
  EXPECT_EQ(caps, mctr::security::default_capabilities());
}

TEST(FromBundle, PrivilegedAndHostNetwork) {
  c::Config cfg = config();
  cfg.security.privileged = true;
  cfg.network_mode = c::NetworkMode::parse("host");
  oci::Spec s = c::spec_from_config(cfg, "/d", "/r");
  EXPECT_FALSE(c::has_new_network_namespace(s));
  EXPECT_FALSE(c::cgroups_read_only(s));
  EXPECT_FALSE(c::masks_paths(s));
  auto devices = c::device_allow_rules(s);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(mctr::cgroup::to_string(devices[0]), "a *:* rwm");
}

TEST(FromBundle, IdentityWithoutLookup) {
  // No -u: root, whose HOME needs no passwd.
  oci::Spec s = spec();
  auto id = c::resolve_identity(s);
  EXPECT_EQ(id.uid, 0u);
  EXPECT_EQ(id.home, "/root");
  // A hand-written bundle: the numbers as they are, the extra groups too.
  s.process->user = {1234, 567, std::nullopt, {10, 11}, ""};
  id = c::resolve_identity(s);
  EXPECT_EQ(id.uid, 1234u);
  EXPECT_EQ(id.gid, 567u);
  EXPECT_EQ(id.groups, (std::vector<gid_t>{10, 11}));
}

TEST(FromBundle, Rlimits) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  uint64_t soft = before.rlim_cur > 64 ? 64 : before.rlim_cur;
  c::apply_rlimits({{"RLIMIT_NOFILE", before.rlim_max, soft}});
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, soft);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
  EXPECT_ERROR(c::apply_rlimits({{"RLIMIT_NOPE", 1, 1}}), "unknown rlimit RLIMIT_NOPE");
}
