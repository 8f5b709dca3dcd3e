// The build context: .dockerignore, wildcards, and the content digest the
// cache keys COPY on.
#include "build/context.h"

#include <gtest/gtest.h>

#include <fstream>

#include "expect_error.h"
#include "util/fs.h"

namespace sfs = std::filesystem;
using mctr::build::Context;
using mctr::build::ignored;
using mctr::build::parse_dockerignore;
using mctr::build::path_match;

TEST(DockerIgnore, Patterns) {
  auto p =
      parse_dockerignore("# comment\n\n/secret.txt\n*.tmp\n**/*.o\nbuild\n!build/keep\n  ./docs/*.md  \n");
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].pattern, "secret.txt");
  EXPECT_TRUE(p[4].exception);
  EXPECT_EQ(p[5].pattern, "docs/*.md");
  EXPECT_TRUE(ignored(p, "secret.txt"));
  EXPECT_TRUE(ignored(p, "x.tmp"));
  EXPECT_FALSE(ignored(p, "sub/x.tmp")) << "* stays in one component";
  EXPECT_TRUE(ignored(p, "a/b/c.o"));
  EXPECT_TRUE(ignored(p, "c.o")) << "** matches no component too";
  EXPECT_TRUE(ignored(p, "build/out/x")) << "below an ignored directory";
  EXPECT_FALSE(ignored(p, "build/keep")) << "the later exception wins";
  EXPECT_TRUE(ignored(p, "docs/a.md"));
  EXPECT_FALSE(ignored(p, "docs/a.txt"));
}

TEST(PathMatch, Components) {
  EXPECT_TRUE(path_match("src/*.c", "src/a.c"));
  EXPECT_FALSE(path_match("src/*.c", "src/x/a.c"));
  EXPECT_TRUE(path_match("src/**/*.c", "src/x/y/a.c"));
  EXPECT_TRUE(path_match("?.txt", "a.txt"));
  EXPECT_TRUE(path_match("[ab].txt", "b.txt"));
  EXPECT_FALSE(path_match("[ab].txt", "c.txt"));
}

class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/context-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    sfs::create_directories(dir_ / "src" / "sub");
    write("src/a.c", "int a;");
    write("src/b.c", "int b;");
    write("src/sub/c.c", "int c;");
    write("src/skip.tmp", "x");
    write(".dockerignore", "*.tmp\nsrc/*.tmp\n");
  }
  void TearDown() override { mctr::fs::remove_tree(dir_); }
  void write(const std::string& rel, const std::string& s) { std::ofstream(dir_ / rel) << s; }
  sfs::path dir_;
};

TEST_F(ContextTest, MatchAndDigest) {
  Context ctx(dir_);
  EXPECT_EQ(ctx.match("src/*.c"), (std::vector<std::string>{"src/a.c", "src/b.c"}));
  EXPECT_EQ(ctx.match("./src/"), std::vector<std::string>{"src"});
  EXPECT_EQ(ctx.match("."), std::vector<std::string>{""});
  EXPECT_ERROR(ctx.match("src/skip.tmp"), "excluded by .dockerignore");
  EXPECT_ERROR(ctx.match("nothing*"), "no source files were specified");
  EXPECT_ERROR(ctx.match("../etc/passwd"), "outside the build context");

  std::string all = ctx.digest({"src"});
  EXPECT_EQ(ctx.digest({"src"}), all);
  write("src/skip.tmp", "changed");  // ignored: no effect
  EXPECT_EQ(ctx.digest({"src"}), all);
  write("src/sub/c.c", "int c2;");
  std::string changed = ctx.digest({"src"});
  EXPECT_NE(changed, all);
  EXPECT_NE(ctx.digest({"src/a.c"}), ctx.digest({"src/b.c"}));
  sfs::permissions(dir_ / "src" / "a.c", sfs::perms::owner_exec, sfs::perm_options::add);
  EXPECT_NE(ctx.digest({"src"}), changed) << "the mode is part of the digest";
}
