// container::Store::create: the container's directory is made in one of the
// nurseries (cache/nurseries/<n>, a "top" directory's children on ext4) and
// renamed into containers/; system prune's remove_nursery_leftovers() removes
// what a killed create left there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "container/config.h"
#include "container/state.h"
#include "util/paths.h"

namespace fsys = std::filesystem;
using namespace mctr;

namespace {

class ContainerStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mctr-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fsys::remove_all(root_); }

  fsys::path root_;
};

TEST_F(ContainerStore, CreateMovesTheDirFromANurseryIntoContainers) {
  container::Store store(root_);
  container::Config a, b;
  store.create(a);
  store.create(b);
  ASSERT_NE(a.id, b.id);
  for (const auto* c : {&a, &b}) {
    EXPECT_TRUE(fsys::is_regular_file(store.dir(c->id) / "config.json")) << c->id;
    EXPECT_EQ(root_ / "containers" / c->id, store.dir(c->id));
  }
  const fsys::path nurseries = StorePaths{root_}.container_nurseries();
  ASSERT_TRUE(fsys::is_directory(nurseries));
  size_t made = 0;
  for (const auto& n : fsys::directory_iterator(nurseries)) {
    ++made;
    EXPECT_TRUE(fsys::is_empty(n.path())) << n.path() << ": the dir was moved out";
    const unsigned k = std::stoul(n.path().filename().string());
    EXPECT_LT(k, 64u);
  }
  EXPECT_GE(made, 1u);
  EXPECT_LE(made, 2u);
  EXPECT_EQ(2u, store.ids().size());
}

TEST_F(ContainerStore, PruneRemovesNurseryLeftoversOnly) {
  container::Store store(root_);
  container::Config kept;
  store.create(kept);
  const fsys::path nursery = StorePaths{root_}.container_nurseries() / "7";
  fsys::create_directories(nursery / "leftover" / "upper");
  std::ofstream(nursery / "leftover" / "config.json") << "{}";
  store.remove_nursery_leftovers();
  EXPECT_TRUE(fsys::is_directory(nursery));
  EXPECT_TRUE(fsys::is_empty(nursery));
  EXPECT_TRUE(fsys::is_regular_file(store.dir(kept.id) / "config.json"));
}

}  // namespace
