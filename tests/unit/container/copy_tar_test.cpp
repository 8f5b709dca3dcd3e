// container/copy_tar: `cp - CTR:DIR` extracts only regular files,
// directories, symlinks and hard links to files, all below DIR; `cp CTR:SRC -`
// writes a tar that leaves out device nodes and FIFOs.
#include "container/copy_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace fsys = std::filesystem;
using namespace mctr;

namespace {

// Builds a tar file entry by entry, with names no tar tool would write.
class TarFile {
 public:
  explicit TarFile(const fsys::path& p) : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    EXPECT_EQ(ARCHIVE_OK, archive_write_open_filename(a_, p.c_str()));
  }
  ~TarFile() { archive_write_free(a_); }
  TarFile& add(const std::string& name, mode_t type, const std::string& data = "", const char* link = nullptr,
               bool hard = false) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_uid(e, ::getuid());
    archive_entry_set_gid(e, ::getgid());
    if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    if (hard)
      archive_entry_set_hardlink(e, link);
    else if (link)
      archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    EXPECT_EQ(ARCHIVE_OK, archive_write_header(a_, e));
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  void close() { archive_write_close(a_); }

 private:
  archive* a_;
};

class CopyTar : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mctr-copytar-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    fsys::create_directories(tmp_ / "root/dest");
    dest_.reset(::open((tmp_ / "root/dest").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { fsys::remove_all(tmp_); }

  void extract(const fsys::path& tar) {
    UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
    container::extract_tar(in.get(), dest_.get());
  }

  fsys::path tmp_;
  UniqueFd dest_;
};

TEST_F(CopyTar, ExtractsFilesDirsSymlinksAndLinks) {
  TarFile t(tmp_ / "t.tar");
  t.add("./", AE_IFDIR)
      .add("a/", AE_IFDIR)
      .add("a/file", AE_IFREG, "hello")
      .add("deep/er/f", AE_IFREG, "made parents")
      .add("lnk", AE_IFLNK, "", "/etc/passwd");
  bool root = ::geteuid() == 0;  // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH
  if (root) t.add("hl", AE_IFREG, "", "a/file", true);
  t.close();
  extract(tmp_ / "t.tar");
  fsys::path d = tmp_ / "root/dest";
  EXPECT_EQ("hello", fs::read_file(d / "a/file"));
  EXPECT_EQ("made parents", fs::read_file(d / "deep/er/f"));
  EXPECT_EQ("/etc/passwd", fsys::read_symlink(d / "lnk").string());
  if (root) {
    EXPECT_EQ("hello", fs::read_file(d / "hl"));
    EXPECT_EQ(2u, fsys::hard_link_count(d / "a/file"));
  }
}

TEST_F(CopyTar, SkipsDevicesFifosAndNamesThatLeaveTheDestination) {
  TarFile t(tmp_ / "t.tar");
  t.add("dev0", AE_IFCHR)
      .add("fifo0", AE_IFIFO)
      .add("../escape", AE_IFREG, "x")
      .add("a/../../escape2", AE_IFREG, "x")
      .add("/abs", AE_IFREG, "stays inside")
      .add("hl", AE_IFREG, "", "../outside", true)
      .add("ok", AE_IFREG, "still extracted");
  t.close();
  std::ofstream(tmp_ / "root/outside") << "secret";
  extract(tmp_ / "t.tar");
  fsys::path d = tmp_ / "root/dest";
  EXPECT_FALSE(fsys::exists(fsys::symlink_status(d / "dev0")));
  EXPECT_FALSE(fsys::exists(fsys::symlink_status(d / "fifo0")));
  EXPECT_FALSE(fsys::exists(tmp_ / "root/escape"));
  EXPECT_FALSE(fsys::exists(tmp_ / "escape2"));
  EXPECT_FALSE(fsys::exists(tmp_ / "root/escape2"));
  EXPECT_FALSE(fsys::exists(d / "hl"));
  EXPECT_EQ("stays inside", fs::read_file(d / "abs"));
  EXPECT_EQ("still extracted", fs::read_file(d / "ok"));
}

TEST_F(CopyTar, ASymlinkPlantedInTheDestinationCannotSteerWritesOut) {
  // The container made dest/sub a symlink to its /root (here: outside dest).
  fsys::create_directory(tmp_ / "root/victim");
  fsys::create_directory_symlink("../victim", tmp_ / "root/dest/sub");
  TarFile t(tmp_ / "t.tar");
  t.add("sub/f", AE_IFREG, "x");
  t.close();
  try {
    extract(tmp_ / "t.tar");
  } catch (const Error&) {
  }
  EXPECT_FALSE(fsys::exists(tmp_ / "root/victim/f"));
}

TEST_F(CopyTar, ARegularFileReplacesAFifoWithoutOpeningIt) {
  ASSERT_EQ(0, ::mkfifo((tmp_ / "root/dest/f").c_str(), 0644));
  TarFile t(tmp_ / "t.tar");
  t.add("f", AE_IFREG, "new");
  t.close();
  extract(tmp_ / "t.tar");
  EXPECT_EQ("new", fs::read_file(tmp_ / "root/dest/f"));
}

std::set<std::string> list_tar(const fsys::path& p) {
  std::set<std::string> names;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(ARCHIVE_OK, archive_read_open_filename(a, p.c_str(), 10240));
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) names.insert(archive_entry_pathname(e));
  archive_read_free(a);
  return names;
}

TEST_F(CopyTar, WriteTarLeavesOutFifosAndDevices) {
  fsys::path src = tmp_ / "src";
  fsys::create_directories(src / "sub");
  std::ofstream(src / "sub/f") << "data";
  fsys::create_symlink("sub/f", src / "l");
  ASSERT_EQ(0, ::mkfifo((src / "fifo").c_str(), 0644));
  UniqueFd parent(::open(tmp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd out(::open((tmp_ / "out.tar").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  container::write_tar(parent.get(), "src", "src", out.get(), proc.get());
  std::set<std::string> want{"src/", "src/l", "src/sub/", "src/sub/f"};
  EXPECT_EQ(want, list_tar(tmp_ / "out.tar"));
}

TEST_F(CopyTar, WriteTarRefusesANamedFifo) {
  ASSERT_EQ(0, ::mkfifo((tmp_ / "fifo").c_str(), 0644));
  UniqueFd parent(::open(tmp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd out(::open((tmp_ / "out.tar").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  EXPECT_THROW(container::write_tar(parent.get(), "fifo", "/tmp/fifo", out.get(), proc.get()), Error);
  EXPECT_EQ(0u, fsys::file_size(tmp_ / "out.tar"));  // not even a tar trailer: a reader sees no tar
}

}  // namespace
