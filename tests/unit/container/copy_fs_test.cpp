// container/copy_fs: the file operations of `minictr cp` never open a device
// node, FIFO or symlink that a container put where a copy reads or writes.
// A FIFO stands in for a device: opening it (for writing without a reader,
// or for reading without a writer) would block, so a test that returns
// proves it was never opened.
#include "container/copy_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "util/error.h"
#include "util/fs.h"
#include "util/openat2.h"

namespace fsys = std::filesystem;
using namespace mctr;
using namespace mctr::container::copyfs;
using mctr::fs::open_in_root;
using mctr::fs::try_open_in_root;

namespace {

class CopyFs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mctr-copyfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    dirfd_.reset(::open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    proc_.reset(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dirfd_ && proc_);
  }
  void TearDown() override { fsys::remove_all(dir_); }

  void write(const std::string& name, const std::string& data) { std::ofstream(dir_ / name) << data; }
  size_t entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fsys::directory_iterator(dir_)) ++n;
    return n;
  }

  fsys::path dir_;
  UniqueFd dirfd_, proc_;
};

TEST_F(CopyFs, OpenRegularReadsARegularFile) {
  write("f", "hello");
  struct stat st;
  UniqueFd fd = open_regular(dirfd_.get(), "f", proc_.get(), st);
  ASSERT_TRUE(fd);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  char buf[16];
  EXPECT_EQ(5, ::read(fd.get(), buf, sizeof buf));
  EXPECT_EQ(0, std::string(buf, 5).compare("hello"));
}

TEST_F(CopyFs, OpenRegularNeverOpensAFifoADeviceOrASymlink) {
  ASSERT_EQ(0, ::mkfifoat(dirfd_.get(), "fifo", 0644));
  ASSERT_EQ(0, ::symlinkat("/etc/hostname", dirfd_.get(), "link"));
  struct stat st;
  EXPECT_FALSE(open_regular(dirfd_.get(), "fifo", proc_.get(), st));  // would block if opened
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_FALSE(open_regular(dirfd_.get(), "link", proc_.get(), st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  UniqueFd dev(::open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_FALSE(open_regular(dev.get(), "zero", proc_.get(), st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(CopyFs, NewFileReplacesAFifoWithoutOpeningIt) {
  ASSERT_EQ(0, ::mkfifoat(dirfd_.get(), "dst", 0644));
  NewFile f(dirfd_.get(), "dst");
  f.write("data", 4);
  f.commit(Meta{0640, ::getuid(), ::getgid()});
  struct stat st;
  ASSERT_EQ(0, ::fstatat(dirfd_.get(), "dst", &st, AT_SYMLINK_NOFOLLOW));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(0640u, st.st_mode & 07777);
  EXPECT_EQ("data", fs::read_file(dir_ / "dst"));
  EXPECT_EQ(1u, entries());  // no temporary left
}

TEST_F(CopyFs, NewFileReplacesASymlinkAndLeavesItsTargetAlone) {
  write("target", "keep");
  ASSERT_EQ(0, ::symlinkat((dir_ / "target").c_str(), dirfd_.get(), "dst"));
  NewFile f(dirfd_.get(), "dst");
  f.write("new", 3);
  f.commit(Meta{0644, ::getuid(), ::getgid()});
  EXPECT_EQ("keep", fs::read_file(dir_ / "target"));
  EXPECT_FALSE(fsys::is_symlink(dir_ / "dst"));
  EXPECT_EQ("new", fs::read_file(dir_ / "dst"));
}

TEST_F(CopyFs, AnUncommittedNewFileLeavesTheDestinationAsItWas) {
  write("dst", "old");
  {
    NewFile f(dirfd_.get(), "dst");
    f.write("half", 4);
  }
  EXPECT_EQ("old", fs::read_file(dir_ / "dst"));
  EXPECT_EQ(1u, entries());
}

TEST_F(CopyFs, NewFileRefusesToReplaceADirectory) {
  fsys::create_directory(dir_ / "d");
  NewFile f(dirfd_.get(), "d");
  try {
    f.commit(Meta{0644, ::getuid(), ::getgid()});
    FAIL() << "replaced a directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot overwrite directory"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fsys::is_directory(dir_ / "d"));
  EXPECT_EQ(1u, entries());
}

TEST_F(CopyFs, ReplaceWithSymlinkReplacesAFifo) {
  ASSERT_EQ(0, ::mkfifoat(dirfd_.get(), "l", 0644));
  replace_with_symlink(dirfd_.get(), "l", "/somewhere", Meta{0777, ::getuid(), ::getgid()});
  EXPECT_EQ("/somewhere", fsys::read_symlink(dir_ / "l").string());
  EXPECT_EQ(1u, entries());
}

TEST_F(CopyFs, MakeDirReplacesANonDirectoryOnlyWhenAsked) {
  ASSERT_EQ(0, ::mkfifoat(dirfd_.get(), "n", 0644));
  fsys::create_directory(dir_ / "real");
  ASSERT_EQ(0, ::symlinkat("real", dirfd_.get(), "link"));
  EXPECT_THROW(make_dir(dirfd_.get(), "n", false), Error);
  EXPECT_THROW(make_dir(dirfd_.get(), "link", false), Error);  // not followed
  EXPECT_TRUE(make_dir(dirfd_.get(), "n", true));
  EXPECT_TRUE(fsys::is_directory(fsys::symlink_status(dir_ / "n")));
  EXPECT_TRUE(make_dir(dirfd_.get(), "real", false));  // an existing directory is reused
}

TEST_F(CopyFs, OpenInRootKeepsSymlinksInside) {
  fsys::create_directory(dir_ / "etc");
  write("etc/inside", "x");
  ASSERT_EQ(0, ::symlinkat("/etc", dirfd_.get(), "abs"));
  ASSERT_EQ(0, ::symlinkat("../../../../etc", dirfd_.get(), "rel"));
  EXPECT_TRUE(open_in_root(dirfd_.get(), "abs/inside", O_RDONLY));
  EXPECT_TRUE(open_in_root(dirfd_.get(), "/rel/inside", O_RDONLY));
  EXPECT_FALSE(try_open_in_root(dirfd_.get(), "abs/hostname", O_RDONLY));  // the host's /etc/hostname
  EXPECT_FALSE(try_open_in_root(dirfd_.get(), "/proc/self/root/etc/hostname", O_RDONLY));
}

TEST_F(CopyFs, HardlinkReplacesTheNameWithThePinnedInode) {
  if (::geteuid() != 0) GTEST_SKIP() << "linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH";
  write("src", "content");
  ASSERT_EQ(0, ::mkfifoat(dirfd_.get(), "dst", 0644));
  UniqueFd t(::openat(dirfd_.get(), "src", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  replace_with_hardlink(t.get(), dirfd_.get(), "dst");
  EXPECT_EQ("content", fs::read_file(dir_ / "dst"));
  EXPECT_EQ(2u, fsys::hard_link_count(dir_ / "src"));
}

}  // namespace
