// Files read from a container's rootfs (passwd, group): a FIFO, a device, a
// huge file or a link out must give an error at once, never a hang.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "linux/user.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace fsys = std::filesystem;
using mctr::Error;
using mctr::UniqueFd;
using mctr::fs::read_untrusted_file;

namespace {

class UntrustedRead : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fsys::temp_directory_path() / ("mctr-untrusted-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fsys::remove_all(tmp_);
    fsys::create_directories(tmp_ / "root" / "etc");
  }
  void TearDown() override { fsys::remove_all(tmp_); }
  void write(const fsys::path& p, const std::string& text) { std::ofstream(p) << text; }
  fsys::path tmp_;
};

TEST_F(UntrustedRead, ReadsARegularFile) {
  write(tmp_ / "f", "hello\n");
  EXPECT_EQ(read_untrusted_file(tmp_ / "f", AT_FDCWD), "hello\n");
  EXPECT_EQ(read_untrusted_file(tmp_ / "missing", AT_FDCWD), std::nullopt);
}

TEST_F(UntrustedRead, FifoIsAnErrorNotAHang) {
  auto fifo = tmp_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto t0 = std::chrono::steady_clock::now();
  try {
    read_untrusted_file(fifo, AT_FDCWD);
    FAIL() << "a FIFO was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file (a FIFO)"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(UntrustedRead, DirectoryAndDeviceAreErrors) {
  EXPECT_THROW(read_untrusted_file(tmp_, AT_FDCWD), Error);
  EXPECT_THROW(read_untrusted_file("/dev/zero", AT_FDCWD), Error);  // would never end
}

TEST_F(UntrustedRead, SizeIsCapped) {
  write(tmp_ / "big", std::string(5000, 'x'));
  EXPECT_THROW(read_untrusted_file(tmp_ / "big", AT_FDCWD, 4096), Error);
  EXPECT_EQ(read_untrusted_file(tmp_ / "big", AT_FDCWD, 5000)->size(), 5000u);
}

TEST_F(UntrustedRead, InRootSymlinksStayInside) {
  // An absolute link resolves against the rootfs, not the host.
  write(tmp_ / "root" / "etc" / "real", "inside\n");
  fsys::create_symlink("/etc/real", tmp_ / "root" / "etc" / "passwd");
  write(tmp_ / "secret", "host\n");
  fsys::create_symlink(tmp_ / "secret", tmp_ / "root" / "etc" / "group");
  UniqueFd root(::open((tmp_ / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  EXPECT_EQ(read_untrusted_file("/etc/passwd", root.get()), "inside\n");
  EXPECT_EQ(read_untrusted_file("/etc/group", root.get()), std::nullopt);  // no such path inside
}

TEST_F(UntrustedRead, MagicLinksAreRefused) {
  // /proc/self/fd/N would hand us whatever file we hold open as N.
  write(tmp_ / "f", "ours\n");
  UniqueFd fd(::open((tmp_ / "f").c_str(), O_RDONLY | O_CLOEXEC));
  fsys::create_symlink("/proc/self/fd/" + std::to_string(fd.get()), tmp_ / "link");
  EXPECT_THROW(read_untrusted_file(tmp_ / "link", AT_FDCWD), mctr::SysError);
}

TEST_F(UntrustedRead, UserLookupFailsFastOnAFifoPasswd) {
  auto passwd = tmp_ / "passwd", group = tmp_ / "group";
  ASSERT_EQ(::mkfifo(passwd.c_str(), 0644), 0);
  write(group, "root:x:0:\n");
  try {
    mctr::user::resolve("someuser", passwd, group);
    FAIL() << "resolved a user from a FIFO";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unable to find user someuser"), std::string::npos) << e.what();
  }
}

TEST_F(UntrustedRead, HostileIdFieldsAreSkipped) {
  write(tmp_ / "passwd",
        "bad:x:notanumber:0::/:/bin/sh\nbig:x:99999999999:0::/:/bin/sh\nok:x:7:8::/home/ok:/bin/sh\n");
  write(tmp_ / "group", "g:x:zz:ok\nh:x:9:ok\n");
  EXPECT_THROW(mctr::user::resolve("bad", tmp_ / "passwd", tmp_ / "group"), Error);
  EXPECT_THROW(mctr::user::resolve("big", tmp_ / "passwd", tmp_ / "group"), Error);
  auto id = mctr::user::resolve("ok", tmp_ / "passwd", tmp_ / "group");
  EXPECT_EQ(id.uid, 7u);
  EXPECT_EQ(id.gid, 8u);
  ASSERT_EQ(id.groups.size(), 1u);
  EXPECT_EQ(id.groups[0], 9u);
  // By uid: the supplementary groups are the entry's name's.
  EXPECT_EQ(mctr::user::resolve("7", tmp_ / "passwd", tmp_ / "group").groups.size(), 1u);
}

}  // namespace
