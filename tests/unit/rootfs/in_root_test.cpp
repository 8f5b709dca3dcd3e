// open_in_root: image content (symlinks, "..") must never lead a create or a
// mount outside the rootfs, and dangling symlinks are made inside it.
#include "linux/in_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "util/error.h"
#include "util/fd.h"

namespace fsys = std::filesystem;
using mctr::SysError;
using mctr::UniqueFd;
using mctr::rootfs::open_in_root;

namespace {

class InRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fsys::temp_directory_path() / ("mctr-in-root-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fsys::remove_all(tmp_);
    root_ = tmp_ / "root";
    outside_ = tmp_ / "outside";  // stands for a host directory
    fsys::create_directories(root_);
    fsys::create_directories(outside_);
  }
  void TearDown() override { fsys::remove_all(tmp_); }
  bool outside_empty() const { return fsys::is_empty(outside_); }
  // The inode open_in_root returned, to compare with the file we expect.
  static ino_t ino_of_fd(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return st.st_ino;
  }
  fsys::path tmp_, root_, outside_;
};

TEST_F(InRoot, AbsoluteSymlinkToAHostDirStaysInside) {
  // The image's /dev points at a host directory by absolute path.
  fsys::create_directory_symlink(outside_, root_ / "dev");
  UniqueFd fd(open_in_root(root_, "/dev/pts", true, true));
  EXPECT_TRUE(outside_empty());
  // Made where the link leads inside the rootfs.
  auto inside = root_ / outside_.relative_path() / "pts";
  ASSERT_TRUE(fsys::is_directory(inside));
  struct stat st {};
  ASSERT_EQ(::stat(inside.c_str(), &st), 0);
  EXPECT_EQ(ino_of_fd(fd.get()), st.st_ino);
}

TEST_F(InRoot, DanglingFileSymlinkIsMadeInsideNotThrough) {
  // /etc/hosts -> <host path that does not exist>: a create through the
  // link would make the host file.
  fsys::create_directories(root_ / "etc");
  fsys::create_symlink(outside_ / "hosts", root_ / "etc" / "hosts");
  UniqueFd fd(open_in_root(root_, "/etc/hosts", true, false));
  EXPECT_TRUE(outside_empty());
  EXPECT_TRUE(fsys::is_regular_file(root_ / outside_.relative_path() / "hosts"));
}

TEST_F(InRoot, RelativeDotDotCannotClimbOut) {
  fsys::create_directories(root_ / "a");
  // Enough ".." to reach the real "/" from root_, then into outside_.
  std::string up;
  for (auto it = root_.begin(); it != root_.end(); ++it) up += "../";
  fsys::create_symlink(up + outside_.relative_path().string() + "/x", root_ / "a" / "link");
  UniqueFd fd(open_in_root(root_, "/a/link/y", true, true));
  EXPECT_TRUE(outside_empty());
  EXPECT_TRUE(fsys::is_directory(root_ / outside_.relative_path() / "x" / "y"));
  // ".." in the asked path is clamped at the root too.
  UniqueFd fd2(open_in_root(root_, "/../../../z", true, true));
  EXPECT_TRUE(fsys::is_directory(root_ / "z"));
}

TEST_F(InRoot, RelativeLinkResolvesFromWhereItIs) {
  // /w -> real/dir (relative), then a dangling relative link in there.
  fsys::create_directories(root_ / "real" / "dir");
  fsys::create_directory_symlink("real/dir", root_ / "w");
  fsys::create_symlink("../made", root_ / "real" / "dir" / "l");
  UniqueFd fd(open_in_root(root_, "/w/l", true, true));
  // "../made" from real/dir is real/made (the kernel's "..", not lexical w/..).
  EXPECT_TRUE(fsys::is_directory(root_ / "real" / "made"));
  EXPECT_FALSE(fsys::exists(root_ / "made"));
}

TEST_F(InRoot, ExistingPathIsOpenedAsIs) {
  fsys::create_directories(root_ / "srv" / "data");
  UniqueFd fd(open_in_root(root_, "/srv/data", false, true));
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstat(fd.get(), &a), 0);
  ASSERT_EQ(::stat((root_ / "srv" / "data").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(InRoot, MissingWithoutCreateThrows) {
  EXPECT_THROW(UniqueFd(open_in_root(root_, "/nope", false, true)), SysError);
  EXPECT_FALSE(fsys::exists(root_ / "nope"));
}

TEST_F(InRoot, SymlinkLoopThrows) {
  fsys::create_symlink("b", root_ / "a");
  fsys::create_symlink("a", root_ / "b");
  EXPECT_THROW(UniqueFd(open_in_root(root_, "/a/x", true, true)), SysError);
}

TEST_F(InRoot, FileInTheWayThrows) {
  UniqueFd f(::open((root_ / "f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_TRUE(f);
  EXPECT_THROW(UniqueFd(open_in_root(root_, "/f/x", true, true)), SysError);
}

}  // namespace
