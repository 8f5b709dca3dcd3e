// A private temp dir with a store root, removed after each test.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "archive_builder.h"
#include "image/store.h"
#include "util/fs.h"

namespace mctr::image::test {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "unpacking layers (chown, mknod whiteouts, trusted.* xattrs) needs root";
    char tmpl[] = "/tmp/minictr-image-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    root_ = tmp_ / "root";
  }
  void TearDown() override {
    if (!tmp_.empty()) mctr::fs::remove_tree(tmp_);
  }

  std::filesystem::path archive(const std::string& name, const std::string& bytes) {
    auto p = tmp_ / name;
    write_file(p, bytes);
    return p;
  }
  std::filesystem::path layer_dir(const Layer& l) const { return root_ / "layers" / l.diff_id.substr(7); }
  size_t count(const std::string& sub) const {
    std::error_code ec;
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(root_ / sub, ec)) ++n;
    return n;
  }
  // Nothing from a failed load may be visible.
  void expect_store_empty() const {
    EXPECT_EQ(count("layers"), 0u);
    EXPECT_EQ(count("images"), 0u);
    EXPECT_EQ(count("tmp"), 0u);
  }

  std::filesystem::path tmp_, root_;
};

inline struct stat lstat_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) < 0) st.st_mode = 0;
  return st;
}

}  // namespace mctr::image::test
