// fs::parse_mountinfo: proc(5)'s format, including the optional fields, the
// octal escapes of paths, and this process's own mount table.
#include "util/mountinfo.h"

#include <gtest/gtest.h>

#include <string>

using mctr::fs::parse_mountinfo;
using mctr::fs::read_mountinfo;

TEST(Mountinfo, ParsesFieldsAroundTheOptionalOnes) {
  auto m = parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
      "40 25 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].id, 36);
  EXPECT_EQ(m[0].parent, 35);
  EXPECT_EQ(m[0].root, "/mnt1");
  EXPECT_EQ(m[0].mount_point, "/mnt2");
  EXPECT_EQ(m[0].options, "rw,noatime");
  EXPECT_EQ(m[0].fstype, "ext3");
  EXPECT_EQ(m[0].source, "/dev/root");
  EXPECT_EQ(m[0].super_options, "rw,errors=continue");
  EXPECT_EQ(m[1].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(m[1].super_options, "rw,memory");
}

TEST(Mountinfo, UnescapesOctalInPaths) {
  auto m = parse_mountinfo("50 1 0:40 / /tmp/a\\040b\\134c rw - tmpfs my\\011src rw\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mount_point, "/tmp/a b\\c");
  EXPECT_EQ(m[0].source, "my\tsrc");
}

TEST(Mountinfo, SkipsLinesThatDoNotParse) {
  auto m = parse_mountinfo(
      "garbage\n1 2 3\n\n7 x 0:1 / / rw - ext4 /dev/sda1 rw\n1 0 0:2 / / rw - rootfs rootfs rw\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].fstype, "rootfs");
}

TEST(Mountinfo, ThisProcessSeesItsRootAndProc) {
  bool root = false, proc = false;
  for (const auto& m : read_mountinfo()) {
    root = root || m.mount_point == "/";
    proc = proc || (m.mount_point == "/proc" && m.fstype == "proc");
  }
  EXPECT_TRUE(root);
  EXPECT_TRUE(proc);
}
