// fs::open_in_root: the tree's own symlinks and ".." stay inside it, magic
// links are refused, and RESOLVE_NO_XDEV (the layer unpacker's rule) refuses
// a mount point; openat2_retrying with RESOLVE_BENEATH refuses an escape.
#include "util/openat2.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "util/error.h"
#include "util/fd.h"

namespace fsys = std::filesystem;
using namespace mctr;

namespace {

class OpenInRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mctr-openat2-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fsys::create_directories(dir_ / "root/etc");
    fsys::create_directories(dir_ / "outside");
    std::ofstream(dir_ / "root/etc/inside") << "in";
    std::ofstream(dir_ / "outside/secret") << "host";
    root_.reset(::open((dir_ / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_);
  }
  void TearDown() override {
    ::umount2((dir_ / "root/mnt").c_str(), MNT_DETACH);
    fsys::remove_all(dir_);
  }
  // The file an fd names, as the host sees it.
  static fsys::path target(const UniqueFd& fd) {
    return fsys::read_symlink("/proc/self/fd/" + std::to_string(fd.get()));
  }
  fsys::path dir_;
  UniqueFd root_;
};

TEST_F(OpenInRoot, AbsoluteSymlinkResolvesInsideTheRoot) {
  // "/etc" in the tree means <root>/etc, not the host's /etc.
  fsys::create_symlink("/etc/inside", dir_ / "root/link");
  UniqueFd fd = fs::open_in_root(root_.get(), "link", O_RDONLY);
  EXPECT_EQ(target(fd), dir_ / "root/etc/inside");
}

TEST_F(OpenInRoot, DotDotStopsAtTheRoot) {
  fsys::create_symlink("../../../../outside/secret", dir_ / "root/up");
  EXPECT_FALSE(fs::try_open_in_root(root_.get(), "up", O_RDONLY));
  EXPECT_EQ(errno, ENOENT);  // <root>/outside/secret: not there
  UniqueFd fd = fs::open_in_root(root_.get(), "/../../etc/inside", O_RDONLY);
  EXPECT_EQ(target(fd), dir_ / "root/etc/inside");
}

TEST_F(OpenInRoot, RefusesMagicLinks) {
  // /proc/self/root in the tree, as a container could make it.
  fsys::create_symlink("/proc/self/root/etc/hostname", dir_ / "root/magic");
  fsys::create_directories(dir_ / "root/proc");
  EXPECT_FALSE(fs::try_open_in_root(root_.get(), "magic", O_RDONLY));
  int outside = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(outside, 0);
  UniqueFd proc(outside);
  EXPECT_FALSE(fs::try_open_in_root(proc.get(), "self/root/etc/hostname", O_RDONLY));
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(OpenInRoot, NoXdevRefusesAMountPoint) {
  fsys::create_directories(dir_ / "root/mnt");
  ASSERT_EQ(0, ::mount("tmpfs", (dir_ / "root/mnt").c_str(), "tmpfs", 0, "size=64k")) << "needs root";
  EXPECT_TRUE(fs::try_open_in_root(root_.get(), "mnt", O_PATH));
  EXPECT_FALSE(fs::try_open_in_root(root_.get(), "mnt", O_PATH, RESOLVE_NO_XDEV));
  EXPECT_EQ(errno, EXDEV);
}

TEST_F(OpenInRoot, ThrowsWithTheSyscallAndPath) {
  try {
    fs::open_in_root(root_.get(), "etc/missing", O_RDONLY);
    FAIL() << "no throw";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find("openat2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("etc/missing"), std::string::npos) << e.what();
  }
}

TEST_F(OpenInRoot, BeneathRefusesAnEscape) {
  UniqueFd d(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(fs::openat2_retrying(d.get(), "outside/secret", O_RDONLY, RESOLVE_BENEATH));
  EXPECT_FALSE(fs::openat2_retrying(d.get(), "root/../../etc/passwd", O_RDONLY, RESOLVE_BENEATH));
  EXPECT_EQ(errno, EXDEV);
}

}  // namespace
