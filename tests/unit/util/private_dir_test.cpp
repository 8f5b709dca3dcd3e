// make_private_dir: the state root and its layers/ and volumes/ are for
// root only; a looser dir an older minictr made is closed again.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/error.h"
#include "util/fs.h"
#include "util/paths.h"

namespace fsys = std::filesystem;

namespace {

mode_t mode_of(const fsys::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

struct TempDir {
  fsys::path path;
  TempDir() {
    char tmpl[] = "/tmp/mctr-private-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { mctr::fs::remove_tree(path); }
};

}  // namespace

TEST(PrivateDir, MakesMissingDirsOwnerOnly) {
  TempDir t;
  mctr::make_private_dir(t.path / "a" / "root");
  EXPECT_EQ(mode_of(t.path / "a" / "root"), 0700u);
  EXPECT_EQ(mode_of(t.path / "a"), 0700u);
}

TEST(PrivateDir, ClosesAnExistingLooserDir) {
  TempDir t;
  for (mode_t old : {0711u, 0755u, 0777u, 0701u, 0710u}) {
    ASSERT_EQ(::chmod(t.path.c_str(), old), 0);
    mctr::make_private_dir(t.path);
    EXPECT_EQ(mode_of(t.path), 0700u) << std::oct << old;
  }
}

TEST(PrivateDir, RefusesAFile) {
  TempDir t;
  std::ofstream(t.path / "f") << "x";
  EXPECT_THROW(mctr::make_private_dir(t.path / "f"), mctr::Error);
}
