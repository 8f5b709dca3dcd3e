// Which cgroup hierarchies a container sees at /sys/fs/cgroup, and how they
// are laid out: only those where it has its own group.
#include "linux/cgroup_mount.h"

#include <gtest/gtest.h>

using mctr::rootfs::own_cgroups;
using mctr::rootfs::v1_mount_point;

TEST(CgroupMount, HybridHostOnlyTheJoinedHierarchies) {
  // This project's host: v1 controllers, name=systemd and an empty v2 tree
  // the container does not join (mounting those would show the host's tree).
  const char* text =
      "9:name=systemd:/\n"
      "8:pids:/minictr/abc\n"
      "4:memory:/minictr/abc\n"
      "2:cpu,cpuacct:/minictr/abc\n"
      "5:devices:/other/abc2\n"
      "0::/\n";
  auto own = own_cgroups(text, "abc");
  EXPECT_FALSE(own.v2);
  EXPECT_EQ(own.v1, (std::vector<std::string>{"pids", "memory", "cpu,cpuacct"}));
}

TEST(CgroupMount, PureV2) {
  auto own = own_cgroups("0::/minictr/abc\n", "abc");
  EXPECT_TRUE(own.v2);
  EXPECT_TRUE(own.v1.empty());
  // Not ours: a group whose name only ends like the id.
  EXPECT_FALSE(own_cgroups("0::/minictr/xabc\n", "abc").v2);
  EXPECT_FALSE(own_cgroups("0::/\n", "abc").v2);
  EXPECT_FALSE(own_cgroups("0::/minictr/abc\n", "").v2);
}

TEST(CgroupMount, V1MountPoints) {
  auto cpu = v1_mount_point("cpu,cpuacct");
  EXPECT_EQ(cpu.dir, "cpu,cpuacct");
  EXPECT_EQ(cpu.links, (std::vector<std::string>{"cpu", "cpuacct"}));
  auto mem = v1_mount_point("memory");
  EXPECT_EQ(mem.dir, "memory");
  EXPECT_TRUE(mem.links.empty());
  EXPECT_EQ(v1_mount_point("name=systemd").dir, "systemd");
}
