// LayerTar::merge_over: layers laid over each other as overlayfs shows
// them (`export`): whiteouts delete a path and what is below it, opaque
// directories hide what was below them, no whiteout is left.
#include <gtest/gtest.h>

#include "build/layer_tar.h"

using mctr::build::LayerTar;
using mctr::build::TarEntry;

namespace {
TarEntry of(TarEntry::Type t) {
  TarEntry e;
  e.type = t;
  return e;
}
}  // namespace

TEST(LayerMerge, WhiteoutsAndOpaqueDirs) {
  LayerTar lower;
  for (const char* dir : {"a", "a/sub", "d", "keep"}) lower.add(dir, of(TarEntry::Type::kDir));
  for (const char* f : {"a/b", "a/c", "a/sub/x", "ab", "d/e", "keep/k"})
    lower.add(f, of(TarEntry::Type::kFile));
  LayerTar upper;
  upper.add("a/.wh.sub", of(TarEntry::Type::kWhiteout));  // a directory deleted: with what is below it
  upper.add("a/.wh.b", of(TarEntry::Type::kWhiteout));
  upper.add("d", of(TarEntry::Type::kDir));
  upper.add("d/.wh..wh..opq", of(TarEntry::Type::kOpaque));
  upper.add("d/new", of(TarEntry::Type::kFile));
  lower.merge_over(upper);

  EXPECT_FALSE(lower.has("a/b"));
  EXPECT_FALSE(lower.has("a/sub"));
  EXPECT_FALSE(lower.has("a/sub/x"));
  EXPECT_TRUE(lower.has("a/c"));
  EXPECT_TRUE(lower.has("ab"));  // "a/" is a prefix of paths below a, not of "ab"
  EXPECT_TRUE(lower.has("d"));
  EXPECT_FALSE(lower.has("d/e"));  // hidden by the opaque d
  EXPECT_TRUE(lower.has("d/new"));
  EXPECT_TRUE(lower.has("keep/k"));
  EXPECT_FALSE(lower.has("a/.wh.b"));
  EXPECT_FALSE(lower.has("d/.wh..wh..opq"));
  EXPECT_EQ(lower.size(), 7u);  // a, a/c, ab, d, d/new, keep, keep/k
}
