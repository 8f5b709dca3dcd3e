// Store operations: rmi, tags moving, crash leftovers, concurrent loads.
#include <sys/wait.h>

#include "fixture.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/size.h"

namespace mctr::image::test {

TEST_F(StoreTest, RemoveUntagsThenDeletesAndKeepsSharedLayers) {
  Layer base = make_layer({file("base", "b")});
  ImageSpec a, b;
  a.layers = {base, make_layer({file("a", "a")})};
  a.tags = {"app:a", "app:alias"};
  b.layers = {base};
  b.tags = {"base:latest"};
  Store store(root_);
  store.load(archive("x.tar", oci_archive({a, b})));
  Image ia = *store.find("app:a");

  RemoveResult r = store.remove("app:alias");  // one of two tags: untag only
  EXPECT_EQ(r.untagged, std::vector<std::string>{"app:alias"});
  EXPECT_TRUE(r.deleted.empty());
  EXPECT_TRUE(store.find("app:a"));

  r = store.remove("app:a");
  EXPECT_EQ(r.deleted.size(), 2u);  // the image and its own layer; base stays for base:latest
  EXPECT_FALSE(std::filesystem::exists(ia.layer_dirs[1]));
  EXPECT_TRUE(std::filesystem::exists(ia.layer_dirs[0]));

  r = store.remove(store.find("base")->id.substr(7, 12));  // by id prefix
  EXPECT_EQ(r.deleted.size(), 2u);
  EXPECT_EQ(count("layers"), 0u);
  EXPECT_EQ(count("images"), 0u);
  EXPECT_THROW(store.remove("base"), Error);
}

TEST_F(StoreTest, NewerImageTakesTheTag) {
  ImageSpec v1, v2;
  v1.layers = {make_layer({file("v", "1")})};
  v2.layers = {make_layer({file("v", "2")})};
  v1.tags = v2.tags = {"app:latest"};
  Store store(root_);
  Image first = store.load(archive("1.tar", oci_archive({v1})))[0];
  Image second = store.load(archive("2.tar", oci_archive({v2})))[0];
  EXPECT_EQ(store.find("app")->id, second.id);
  EXPECT_TRUE(store.find(first.id)->repo_tags.empty());  // dangling, like Docker's <none>
}

TEST_F(StoreTest, StaleTmpFromKilledLoadIsCleaned) {
  std::filesystem::create_directories(root_ / "tmp/layer-abc.999999999/half");
  ImageSpec spec;
  spec.layers = {make_layer({file("a", "a")})};
  Store store(root_);
  store.load(archive("a.tar", oci_archive({spec})));
  EXPECT_EQ(count("tmp"), 0u);
}

TEST_F(StoreTest, LoadKilledHalfWayLeavesNothingVisible) {
  // A real kill: a child loads a big layer and is SIGKILLed mid-unpack.
  ImageSpec spec;
  std::vector<TarEntry> files;
  for (int i = 0; i < 400; ++i)
    files.push_back(file("f" + std::to_string(i), std::string(256 << 10, char('a' + i % 26))));
  spec.layers = {make_layer(files, Compression::gzip)};
  spec.tags = {"big:latest"};
  auto path = archive("big.tar", oci_archive({spec}));
  pid_t pid = ::fork();
  if (pid == 0) {
    Store(root_).load(path, std::nullopt, {}, [](const std::string&, uint64_t done, uint64_t total) {
      if (done > total / 3) ::raise(SIGKILL);
    });
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(count("images"), 0u);
  EXPECT_FALSE(std::filesystem::exists(root_ / "layers" / spec.layers[0].diff_id.substr(7)));
  EXPECT_EQ(count("tmp"), 2u);  // the killed load's leftovers (layer dir, blob copy), out of sight
  Store store(root_);
  EXPECT_EQ(store.load(path).size(), 1u);  // the next load cleans and succeeds
  EXPECT_EQ(count("tmp"), 0u);
  EXPECT_EQ(mctr::fs::read_file(store.find("big")->layer_dirs[0] / "f1").size(), 256u << 10);
}

TEST_F(StoreTest, ConcurrentLoadsOfTheSameArchive) {
  ImageSpec spec;
  std::vector<TarEntry> files;
  for (int i = 0; i < 50; ++i) files.push_back(file("f" + std::to_string(i), std::string(64 << 10, 'x')));
  spec.layers = {make_layer(files), make_layer({file("top", "t")})};
  spec.tags = {"race:latest"};
  auto path = archive("race.tar", oci_archive({spec}));
  std::vector<pid_t> kids;
  for (int k = 0; k < 4; ++k) {
    pid_t pid = ::fork();
    if (pid == 0) {
      try {
        Store(root_).load(path);
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  Store store(root_);
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_EQ(count("layers"), 4u);  // 2 dirs + 2 .json
  EXPECT_EQ(count("tmp"), 0u);
}

TEST(Reference, ParsesLikeDocker) {
  EXPECT_EQ(parse_reference("busybox").str(), "busybox:latest");
  EXPECT_EQ(parse_reference("docker.io/library/busybox:1.36").str(), "busybox:1.36");
  EXPECT_EQ(parse_reference("localhost:5000/team/app").str(), "localhost:5000/team/app:latest");
  EXPECT_EQ(parse_reference("a/b:v1@sha256:" + std::string(64, 'a')).str(), "a/b:v1");
  EXPECT_THROW(parse_reference("Upper:x"), Error);
  EXPECT_THROW(parse_reference("/abs/path.tar"), Error);
}

TEST(Limits, ParseSize) {
  EXPECT_EQ(parse_bytes("512m"), 512ll << 20);
  EXPECT_EQ(parse_bytes("2g"), 2ll << 30);
  EXPECT_EQ(parse_bytes("100"), 100);
  EXPECT_THROW(parse_bytes("lots"), Error);
}

}  // namespace mctr::image::test
