// -v destinations: normalised lexically, and refused over the places the
// runtime builds itself (/, /proc, /dev), however they are spelled.
#include "container/mount_destination.h"

#include <gtest/gtest.h>

#include "util/error.h"

using mctr::container::checked_mount_destination;
using mctr::container::normalize_container_path;

TEST(MountDestination, NormalisesLexically) {
  EXPECT_EQ(normalize_container_path("/"), "/");
  EXPECT_EQ(normalize_container_path("///"), "/");
  EXPECT_EQ(normalize_container_path("/./"), "/");
  EXPECT_EQ(normalize_container_path("/.."), "/");
  EXPECT_EQ(normalize_container_path("//proc"), "/proc");
  EXPECT_EQ(normalize_container_path("/proc/."), "/proc");
  EXPECT_EQ(normalize_container_path("/a//b/./c/../d/"), "/a/b/d");
  EXPECT_EQ(normalize_container_path("/../../x/.."), "/");
  EXPECT_EQ(normalize_container_path("/data"), "/data");
}

TEST(MountDestination, RefusesRootProcAndDevHoweverSpelled) {
  for (const char* dst : {"/",
                          "//",
                          "/./",
                          "/..",
                          "/tmp/..",
                          "/proc",
                          "/proc/",
                          "//proc",
                          "/x/../proc",
                          "/proc/.",
                          "/proc/sys",
                          "/proc/self/root",
                          "/proc/sysrq-trigger",
                          "/proc/1/ns",
                          "/dev",
                          "/dev/",
                          "//dev",
                          "/tmp/../dev",
                          "relative",
                          "proc"}) {
    try {
      checked_mount_destination("SRC:" + std::string(dst), dst);
      ADD_FAILURE() << dst << " was accepted";
    } catch (const mctr::Error& e) {
      EXPECT_EQ(e.exit_code(), mctr::kExitRuntimeError) << dst;
      EXPECT_NE(std::string(e.what()).find("invalid volume specification: 'SRC:"), std::string::npos)
          << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(MountDestination, AcceptsOrdinaryPathsAndLxcfsProcFiles) {
  EXPECT_EQ(checked_mount_destination("s", "/data"), "/data");
  EXPECT_EQ(checked_mount_destination("s", "//data/./x/../"), "/data");
  EXPECT_EQ(checked_mount_destination("s", "/dev/shm"), "/dev/shm");
  EXPECT_EQ(checked_mount_destination("s", "/devices"), "/devices");
  EXPECT_EQ(checked_mount_destination("s", "/procfs"), "/procfs");
  EXPECT_EQ(checked_mount_destination("s", "/proc/cpuinfo"), "/proc/cpuinfo");
  EXPECT_EQ(checked_mount_destination("s", "/proc/./meminfo"), "/proc/meminfo");
  EXPECT_EQ(checked_mount_destination("s", "/proc/sys/kernel/ns_last_pid"), "/proc/sys/kernel/ns_last_pid");
}
