// container::Store::create: the container's directory and its name's link
// are made in one of the nurseries (cache/nurseries/<n>, a "top" directory's
// children on ext4) and renamed into containers/ and names/; system prune's remove_nursery_leftovers()
// removes what a killed create left there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "container/config.h"
#include "container/restart.h"
#include "container/state.h"
#include "util/error.h"
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
  container::Config a, b, c;
  a.name = "web";
  const fsys::path nurseries = StorePaths{root_}.container_nurseries();
  store.create(a);  // a new root has no nursery yet: made in place
  EXPECT_FALSE(fsys::exists(nurseries));
  store.make_nursery(a.id);  // as its supervisor does once the container exited
  ASSERT_TRUE(fsys::is_directory(nurseries));
  store.create(b);  // born in its own nursery if made, else in the next made one (a's)
  store.make_nursery(b.id);
  store.create(c);
  ASSERT_NE(a.id, b.id);
  // The name's link is made in the nursery too, and renamed into names/.
  EXPECT_EQ(fsys::read_symlink(root_ / "names" / "web"), a.id);
  EXPECT_EQ(fsys::read_symlink(root_ / "names" / b.name), b.id);
  EXPECT_EQ(fsys::read_symlink(root_ / "names" / c.name), c.id);
  for (const auto* k : {&a, &b, &c}) {
    EXPECT_TRUE(fsys::is_regular_file(store.dir(k->id) / "config.json")) << k->id;
    EXPECT_EQ(root_ / "containers" / k->id, store.dir(k->id));
  }
  size_t made = 0;
  for (const auto& n : fsys::directory_iterator(nurseries)) {
    ++made;
    EXPECT_TRUE(fsys::is_empty(n.path())) << n.path() << ": the dir and the name's link were moved out";
    const unsigned k = std::stoul(n.path().filename().string());
    EXPECT_LT(k, 512u);
  }
  EXPECT_GE(made, 1u);
  EXPECT_LE(made, 2u);
  EXPECT_EQ(3u, store.ids().size());
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

// RFC 3339 in UTC with nanoseconds, as Docker prints it, and the same
// second as gmtime_r(3) says (give or take the second it ticks over).
TEST(Rfc3339, IsUtcWithNanosecondsAndMatchesGmtime) {
  const time_t before = ::time(nullptr);
  const std::string now = container::now_rfc3339();
  const time_t after = ::time(nullptr);
  ASSERT_TRUE(std::regex_match(now, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)"))) << now;
  auto format = [](time_t t) {
    tm u{};
    gmtime_r(&t, &u);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &u);
    return std::string(buf);
  };
  const std::string seconds = now.substr(0, 19);
  EXPECT_TRUE(seconds == format(before) || seconds == format(after)) << now;
}

// A given time (events carry theirs in nanoseconds), across a leap day.
TEST(Rfc3339, OfAGivenTime) {
  EXPECT_EQ(container::rfc3339(1), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(container::rfc3339(951782400123456789), "2000-02-29T00:00:00.123456789Z");
}

// state.json keeps the status words Docker prints; in memory they are enums,
// and a word the code does not know is refused, not read as "created".
TEST(StateJson, StatusAndHealthRoundTripAsDockerWords) {
  container::State s;
  s.status = container::Status::kRunning;
  s.paused = true;
  s.health = container::Health{};
  s.health->status = container::HealthStatus::kUnhealthy;
  const auto j = container::state_to_json(s);
  EXPECT_EQ(j["Status"], "running");
  EXPECT_EQ(j["Health"]["Status"], "unhealthy");
  const auto back = container::state_from_json(j);
  EXPECT_EQ(back.status, container::Status::kRunning);
  EXPECT_TRUE(back.paused);
  ASSERT_TRUE(back.health);
  EXPECT_EQ(back.health->status, container::HealthStatus::kUnhealthy);

  auto exited = j;
  exited["Status"] = "exited";
  EXPECT_FALSE(container::state_from_json(exited).paused);  // an exit ends a pause
  EXPECT_EQ(container::state_from_json(nlohmann::json::object()).status, container::Status::kCreated);

  auto odd = j;
  odd["Status"] = "Running";
  EXPECT_THROW(container::state_from_json(odd), Error);
  odd = j;
  odd["Health"]["Status"] = "sick";
  EXPECT_THROW(container::state_from_json(odd), Error);
}

// config.json keeps Docker's words for the network mode and the restart
// policy; in memory they are a kind with its target and an enum.
TEST(ConfigJson, NetworkModeAndRestartRoundTripAsDockerWords) {
  using Kind = container::NetworkMode::Kind;
  for (const auto& [text, kind, target] : std::vector<std::tuple<std::string, Kind, std::string>>{
           {"bridge", Kind::kBridge, ""},
           {"none", Kind::kNone, ""},
           {"host", Kind::kHost, ""},
           {"container:0123abcd", Kind::kContainer, "0123abcd"},
           {"backend", Kind::kUser, "backend"}}) {
    container::Config c;
    c.network_mode = container::NetworkMode::parse(text);
    EXPECT_EQ(c.network_mode.kind, kind) << text;
    EXPECT_EQ(c.network_mode.target, target) << text;
    EXPECT_EQ(c.network_mode.attaches_to_bridge(), kind == Kind::kBridge || kind == Kind::kUser) << text;
    c.restart = container::parse_restart_policy("on-failure:4");
    const nlohmann::json j = c;
    EXPECT_EQ(j["NetworkMode"], text);
    EXPECT_EQ(j["RestartPolicy"]["Name"], "on-failure");
    const auto back = j.get<container::Config>();
    EXPECT_EQ(back.network_mode, c.network_mode) << text;
    EXPECT_EQ(back.restart.name, container::RestartName::kOnFailure);
    EXPECT_EQ(back.restart.max_retries, 4);
  }
  EXPECT_EQ(container::NetworkMode::parse("default").kind, Kind::kBridge);  // Docker's other word for it
  EXPECT_EQ(container::NetworkMode::parse("backend").network_name(), "backend");
  EXPECT_EQ(container::NetworkMode{}.network_name(), "bridge");
  EXPECT_THROW(container::NetworkMode::parse(""), Error);
  nlohmann::json odd = container::Config{};
  odd["RestartPolicy"]["Name"] = "sometimes";
  EXPECT_THROW(odd.get<container::Config>(), Error);
}

TEST(ConfigJson, InitPathRoundTripsAndIsLeftOutWithoutInit) {
  container::Config c;
  EXPECT_FALSE(nlohmann::json(c).contains("InitPath"));
  c.init = true;
  c.init_path = "/usr/local/bin/minictr-init";
  const nlohmann::json j = c;
  EXPECT_EQ(j["InitPath"], "/usr/local/bin/minictr-init");
  const auto back = j.get<container::Config>();
  EXPECT_TRUE(back.init);
  EXPECT_EQ(back.init_path, c.init_path);
}

}  // namespace
