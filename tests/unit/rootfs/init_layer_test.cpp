// The init layer: mount points on top of the image, with the image's
// attributes for /etc, /proc, /sys and /dev, made once and shared.
#include "linux/init_layer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

namespace fsys = std::filesystem;
using mctr::rootfs::init_layer;

namespace {

class InitLayer : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fsys::temp_directory_path() / ("mctr-init-layer-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fsys::remove_all(tmp_);
    fsys::create_directories(tmp_ / "cache");
  }
  void TearDown() override { fsys::remove_all(tmp_); }
  // A layer dir with the given top-level entries made by `make`.
  std::string layer(const std::string& name) {
    auto d = tmp_ / name;
    fsys::create_directories(d);
    return d.string();
  }
  static struct stat stat_of(const fsys::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
  }
  fsys::path tmp_;
};

TEST_F(InitLayer, HasTheMountPointsAndIsShared) {
  auto base = layer("base");
  fsys::create_directories(fsys::path(base) / "etc");
  auto a = init_layer(tmp_ / "cache", {base});
  ASSERT_TRUE(a);
  for (const char* f : {"etc/hostname", "etc/hosts", "etc/resolv.conf"})
    EXPECT_TRUE(fsys::is_regular_file(*a / f)) << f;
  for (const char* d : {"etc", "proc", "sys", "dev"}) EXPECT_TRUE(fsys::is_directory(*a / d)) << d;
  // Another image with the same attributes gets the same layer.
  auto other = layer("other");
  EXPECT_EQ(init_layer(tmp_ / "cache", {other}), a);
  // Nothing else (no temp dirs) is left in the cache.
  EXPECT_EQ(std::distance(fsys::directory_iterator(tmp_ / "cache"), {}), 1);
}

TEST_F(InitLayer, CopiesOwnerAndModeOfTheTopmostLayer) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  auto low = layer("low"), high = layer("high");
  fsys::create_directories(fsys::path(low) / "etc");
  fsys::create_directories(fsys::path(high) / "etc");
  ASSERT_EQ(::chown((fsys::path(high) / "etc").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chmod((fsys::path(high) / "etc").c_str(), 02750), 0);
  auto a = init_layer(tmp_ / "cache", {low, high});
  ASSERT_TRUE(a);
  auto st = stat_of(*a / "etc");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 02750u);
  EXPECT_EQ(stat_of(*a / "proc").st_mode & 07777, 0755u);  // not in the image: Docker's default
  // The lower layer alone has other attributes: another init layer.
  EXPECT_NE(init_layer(tmp_ / "cache", {low}), a);
}

TEST_F(InitLayer, NoneWhenTheImageHasASymlinkThere) {
  auto base = layer("base");
  fsys::create_directories(fsys::path(base) / "usr" / "etc");
  fsys::create_directory_symlink("usr/etc", fsys::path(base) / "etc");
  EXPECT_FALSE(init_layer(tmp_ / "cache", {base}));
  // A higher layer that deletes it (an overlay whiteout) makes it absent again.
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  auto top = layer("top");
  ASSERT_EQ(::mknod((fsys::path(top) / "etc").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  EXPECT_TRUE(init_layer(tmp_ / "cache", {base, top}));
}

}  // namespace
