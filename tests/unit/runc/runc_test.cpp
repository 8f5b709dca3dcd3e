// The pure parts of the runc command line: cgroupsPath, mount options, the
// JSON log line, ids, the default spec.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>

#include "oci/spec.h"
#include "runc/cgroup_path.h"
#include "runc/features.h"
#include "runc/log.h"
#include "runc/mounts.h"
#include "runc/state_store.h"
#include "util/error.h"

namespace mctr::runc {

TEST(CgroupsPath, AbsoluteIsBelowTheRoots) {
  EXPECT_EQ(resolve_cgroups_path("/libpod_parent/libpod-abc", "abc", false, "4:memory:/user.slice\n"),
            "libpod_parent/libpod-abc");
  EXPECT_EQ(resolve_cgroups_path("//a//b/", "x", false, ""), "a/b");
}

TEST(CgroupsPath, RelativeIsBelowOurOwnGroup) {
  const std::string v1 = "12:pids:/p\n4:memory:/user.slice/session-1.scope\n0::/init.scope\n";
  EXPECT_EQ(resolve_cgroups_path("k8s/pod1", "c", false, v1), "user.slice/session-1.scope/k8s/pod1");
  EXPECT_EQ(resolve_cgroups_path("", "c1", false, "0::/\n"), "c1");
  EXPECT_EQ(resolve_cgroups_path("", "c1", false, "0::/system.slice/x.service\n"),
            "system.slice/x.service/c1");
}

TEST(CgroupsPath, RefusesDotDotAndRoot) {
  EXPECT_THROW(resolve_cgroups_path("/a/../../etc", "x", false, ""), Error);
  EXPECT_THROW(resolve_cgroups_path("/", "x", false, ""), Error);
}

TEST(CgroupsPath, SystemdTripleBecomesTheScopeDirectory) {
  EXPECT_EQ(resolve_cgroups_path("machine.slice:libpod:abc", "abc", true, ""),
            "machine.slice/libpod-abc.scope");
  EXPECT_EQ(
      resolve_cgroups_path("kubepods-besteffort-pod12.slice:cri-containerd:f00", "f00", true, ""),
      "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-f00.scope");
  EXPECT_EQ(resolve_cgroups_path("", "c1", true, ""), "system.slice/minictr-runc-c1.scope");
  EXPECT_THROW(resolve_cgroups_path("/plain/path", "x", true, ""), Error);
  EXPECT_THROW(resolve_cgroups_path("notaslice:p:n", "x", true, ""), Error);
}

TEST(CgroupsPath, ExpandSlice) {
  EXPECT_EQ(expand_slice("-.slice"), "");
  EXPECT_EQ(expand_slice("a-b-c.slice"), "a.slice/a-b.slice/a-b-c.slice");
  EXPECT_THROW(expand_slice("a--b.slice"), Error);
  EXPECT_THROW(expand_slice("a/b.slice"), Error);
}

TEST(MountOptions, FlagsPropagationAndData) {
  MountOptions o =
      parse_mount_options({"rbind", "ro", "nosuid", "rslave", "mode=755", "size=1k", "tmpcopyup"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID));
  ASSERT_EQ(o.propagation.size(), 1u);
  EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=1k");
}

TEST(MountOptions, LaterOptionWins) {
  MountOptions o = parse_mount_options({"ro", "rw", "nodev", "dev"});
  EXPECT_EQ(o.flags, 0ul);
  EXPECT_EQ(o.clear, static_cast<unsigned long>(MS_RDONLY | MS_NODEV));
  EXPECT_THROW(parse_mount_options({"idmap"}), Error);
}

TEST(MountOptions, BindByTypeOrOption) {
  EXPECT_TRUE(is_bind_mount({"/x", "bind", "/y", {}}));
  EXPECT_TRUE(is_bind_mount({"/x", "none", "/y", {"rbind"}}));
  EXPECT_FALSE(is_bind_mount({"/proc", "proc", "proc", {"nosuid"}}));
}

TEST(Log, JsonLineAsContainerdReadsIt) {
  auto j = nlohmann::json::parse(json_log_line(LogLevel::kError, "bad \"thing\"\n", "2026-01-02T03:04:05Z"));
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "bad \"thing\"\n");
  EXPECT_EQ(j["time"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(rfc3339_now(false).size(), 20u);
  EXPECT_EQ(rfc3339_now(true).size(), 30u);
}

TEST(Ids, RuncRules) {
  EXPECT_NO_THROW(check_id("abc-1_2+3.4"));
  EXPECT_THROW(check_id(""), Error);
  EXPECT_THROW(check_id(".."), Error);
  EXPECT_THROW(check_id("a/b"), Error);
  EXPECT_THROW(check_id("a b"), Error);
}

TEST(DefaultSpec, IsAValidSpec) {
  oci::Spec s = oci::parse_spec(default_spec());
  ASSERT_TRUE(s.process);
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s.root->path, "rootfs");
  EXPECT_TRUE(s.linux_->find_namespace("mount"));
  EXPECT_EQ(features_json()["linux"]["cgroup"]["v1"], true);
}

}  // namespace mctr::runc
