// fs::mark_top_directory: sets FS_TOPDIR_FL (chattr +T) where the filesystem
// has it (ext4 here, as /tmp is on the root filesystem), and says false on
// one that has not (a tmpfs mounted for the test; needs root).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "util/fd.h"
#include "util/fs.h"

namespace fsys = std::filesystem;
using namespace mctr;

namespace {

int inode_flags(const fsys::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int flags = 0;
  EXPECT_EQ(0, ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags)) << dir;
  return flags;
}

class TopDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mctr-topdir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ::umount2((dir_ / "tmpfs").c_str(), MNT_DETACH);
    fsys::remove_all(dir_);
  }
  fsys::path dir_;
};

TEST_F(TopDirectory, SetOnExt4AndKeepsTheOtherFlags) {
  struct statfs st {};
  ASSERT_EQ(0, ::statfs(dir_.c_str(), &st));
  if (st.f_type != EXT4_SUPER_MAGIC) GTEST_SKIP() << "/tmp is not ext4 on this host";
  fsys::create_directory(dir_ / "containers");
  const int before = inode_flags(dir_ / "containers");
  ASSERT_FALSE(before & FS_TOPDIR_FL);
  EXPECT_TRUE(fs::mark_top_directory(dir_ / "containers"));
  EXPECT_EQ(before | FS_TOPDIR_FL, inode_flags(dir_ / "containers"));
  EXPECT_TRUE(fs::mark_top_directory(dir_ / "containers")) << "already marked";
  EXPECT_EQ(before | FS_TOPDIR_FL, inode_flags(dir_ / "containers"));
}

TEST_F(TopDirectory, FalseOnTmpfsAndOnAMissingDirectory) {
  fsys::create_directory(dir_ / "tmpfs");
  ASSERT_EQ(0, ::mount("tmpfs", (dir_ / "tmpfs").c_str(), "tmpfs", 0, "size=64k"));
  EXPECT_FALSE(fs::mark_top_directory(dir_ / "tmpfs"));
  EXPECT_FALSE(fs::mark_top_directory(dir_ / "missing"));
}

}  // namespace
