// Layer tars: overlay whiteouts and opaque dirs become OCI ones, entries are
// sorted with fixed mtimes, hardlinks stay hardlinks, and a tar unpacked by
// the image store and written again is byte for byte the same (the diffID
// `save` relies on).
#include "build/layer_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"
#include "util/fs.h"

namespace sfs = std::filesystem;
using mctr::build::layer_path;
using mctr::build::LayerTar;

namespace {

class LayerTarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "whiteouts (mknod 0:0) and trusted.* xattrs need root";
    char tmpl[] = "/tmp/layer-tar-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    upper_ = dir_ / "upper";
    sfs::create_directories(upper_ / "etc");
    sfs::create_directories(upper_ / "opaque" / "sub");
    write(upper_ / "etc" / "b.conf", "bee");
    write(upper_ / "a.txt", "aaaa");
    ::link((upper_ / "a.txt").c_str(), (upper_ / "z-link").c_str());
    ::symlink("a.txt", (upper_ / "sym").c_str());
    ::mknod((upper_ / "etc" / "group").c_str(), S_IFCHR | 0, makedev(0, 0));
    ::setxattr((upper_ / "opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0);
    ::setxattr((upper_ / "etc").c_str(), "trusted.overlay.origin", "x", 1, 0);  // bookkeeping: left out
    ::chown((upper_ / "etc" / "b.conf").c_str(), 1000, 1001);
  }
  void TearDown() override {
    if (!dir_.empty()) mctr::fs::remove_tree(dir_);
  }
  static void write(const sfs::path& p, const std::string& s) { std::ofstream(p) << s; }

  struct Entry {
    std::string name, link;
    int type = 0;
    int64_t mtime = 0, uid = 0, gid = 0, size = 0;
  };
  static std::vector<Entry> read_tar(const sfs::path& p) {
    std::vector<Entry> out;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    EXPECT_EQ(archive_read_open_filename(a, p.c_str(), 10240), ARCHIVE_OK);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      Entry x;
      x.name = archive_entry_pathname(e);
      x.type = static_cast<int>(archive_entry_filetype(e));
      if (archive_entry_hardlink(e)) x.link = archive_entry_hardlink(e);
      if (archive_entry_symlink(e)) x.link = archive_entry_symlink(e);
      x.mtime = archive_entry_mtime(e);
      x.uid = archive_entry_uid(e);
      x.gid = archive_entry_gid(e);
      x.size = archive_entry_size(e);
      out.push_back(x);
    }
    archive_read_free(a);
    return out;
  }

  sfs::path dir_, upper_;
};

}  // namespace

TEST(LayerPath, Normalizes) {
  EXPECT_EQ(layer_path("/a//b/"), "a/b");
  EXPECT_EQ(layer_path("/"), "");
  EXPECT_EQ(layer_path("a/./b/../c"), "a/c");
  EXPECT_EQ(layer_path("/../../etc"), "etc");
}

TEST_F(LayerTarTest, OverlayUpperToOciLayer) {
  LayerTar tar;
  tar.add_tree(upper_, "");
  std::string diff = tar.write(dir_ / "l.tar", 1234);
  std::vector<std::string> names;
  for (const auto& e : read_tar(dir_ / "l.tar")) {
    names.push_back(e.name);
    EXPECT_EQ(e.mtime, 1234) << e.name;
    if (e.name == "etc/b.conf") {
      EXPECT_EQ(e.uid, 1000);
      EXPECT_EQ(e.gid, 1001);
    }
    if (e.name == "z-link") {
      EXPECT_EQ(e.link, "a.txt");  // the first name in tar order holds the data
    }
    if (e.name == "sym") {
      EXPECT_EQ(e.type, AE_IFLNK);
    }
    if (e.name == "etc/.wh.group") {
      EXPECT_EQ(e.size, 0);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "etc/", "etc/.wh.group", "etc/b.conf", "opaque/",
                                             "opaque/.wh..wh..opq", "opaque/sub/", "sym", "z-link"}));
  // Same input, same bytes.
  LayerTar again;
  again.add_tree(upper_, "");
  EXPECT_EQ(again.write(dir_ / "l2.tar", 1234), diff);
  LayerTar later;
  later.add_tree(upper_, "");
  EXPECT_NE(later.write(dir_ / "l3.tar", 99), diff) << "the mtime is part of the tar";
}

TEST_F(LayerTarTest, StoreRoundTripKeepsTheDiffId) {
  LayerTar tar;
  tar.add_tree(upper_, "");
  std::string diff = tar.write(dir_ / "l.tar", 0);
  mctr::image::Store store(dir_ / "root");
  store.add_layer(dir_ / "l.tar", diff);
  ASSERT_TRUE(store.has_layer(diff));
  sfs::path unpacked = dir_ / "root" / "layers" / mctr::image::digest_hex(diff);
  struct stat st;
  ASSERT_EQ(::lstat((unpacked / "etc" / "group").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "the whiteout is an overlay one again";
  LayerTar again;
  again.add_tree(unpacked, "");
  EXPECT_EQ(again.write(dir_ / "again.tar", 0), diff);
  // A tar whose digest is not what the caller says is refused, and nothing is kept.
  std::string wrong = "sha256:" + std::string(64, 'a');
  EXPECT_THROW(store.add_layer(dir_ / "l.tar", wrong), mctr::Error);
  EXPECT_FALSE(store.has_layer(wrong));
}

TEST_F(LayerTarTest, TreeUnderPrefixWithOwnerAndSkip) {
  LayerTar tar;
  tar.add_tree(upper_ / "etc", "app/conf", std::make_pair(uid_t{7}, gid_t{8}),
               [](const std::string& sub) { return sub == "group"; });
  tar.write(dir_ / "p.tar", 0);
  auto entries = read_tar(dir_ / "p.tar");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "app/conf/b.conf");
  EXPECT_EQ(entries[0].uid, 7);
  EXPECT_EQ(entries[0].gid, 8);
}
