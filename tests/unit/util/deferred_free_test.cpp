// fs::set_defer_frees: files replaced by write_file_atomic or removed by
// unlink_deferred stay open (so their blocks are not freed yet) until
// release_deferred_frees(). Checked through /proc/self/fd, where a file that
// is open but no longer linked shows as "<path> (deleted)".
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "util/fs.h"

namespace fsys = std::filesystem;
using namespace mctr;

namespace {

// How many of our open fds point at `path` after it was unlinked or replaced.
int open_deleted(const fsys::path& path) {
  int n = 0;
  for (const auto& e : fsys::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fsys::read_symlink(e.path(), ec);
    if (!ec && target.string() == path.string() + " (deleted)") ++n;
  }
  return n;
}

class DeferredFree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mctr-defer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    fs::set_defer_frees(false);
    fs::release_deferred_frees();
    fsys::remove_all(dir_);
  }
  fsys::path dir_;
};

}  // namespace

TEST_F(DeferredFree, ReplacedFilesStayOpenUntilReleased) {
  fs::set_defer_frees(true);
  fsys::path f = dir_ / "state.json";
  fs::write_file_atomic(f, "one", 0644, false);  // new file: nothing replaced
  EXPECT_EQ(open_deleted(f), 0);
  fs::write_file_atomic(f, "two", 0644, false);
  fs::write_file_atomic(f, "three", 0644, false);
  EXPECT_EQ(open_deleted(f), 2);  // "one" and "two", still allocated
  EXPECT_EQ(fs::read_file(f), "three");
  fs::release_deferred_frees();
  EXPECT_EQ(open_deleted(f), 0);
}

TEST_F(DeferredFree, UnlinkDeferredRemovesTheNameAtOnce) {
  fs::set_defer_frees(true);
  fsys::path f = dir_ / "config.json";
  fs::write_file_atomic(f, "{}", 0644, false);
  fs::unlink_deferred(f);
  EXPECT_FALSE(fsys::exists(f));
  EXPECT_EQ(open_deleted(f), 1);
  fs::unlink_deferred(f);  // already gone: fine
  fs::release_deferred_frees();
  EXPECT_EQ(open_deleted(f), 0);
}

TEST_F(DeferredFree, OffByDefaultNothingIsHeld) {
  fsys::path f = dir_ / "hosts";
  fs::write_file_atomic(f, "a", 0644, false);
  fs::write_file_atomic(f, "b", 0644, false);
  fs::unlink_deferred(f);
  EXPECT_EQ(open_deleted(f), 0);
}
