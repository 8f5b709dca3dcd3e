// The json-file log's limits (issue 18, "Logs"): --log-opt parsing, rotation
// by size, and reading (also following) across the rotated files.
#include "container/logfile.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "container/config.h"
#include "expect_error.h"
#include "util/error.h"

using mctr::Error;
namespace c = mctr::container;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/logfile-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<std::string> read_all(const fs::path& log, long tail = -1) {
  std::vector<std::string> out;
  c::read_log(
      log, tail, false, [] { return false; }, [&](const c::LogLine& l) { out.push_back(l.text); });
  return out;
}

std::string line(int i) { return "line " + std::to_string(i) + "\n"; }

}  // namespace

TEST(LogSize, DecimalUnitsAsDockerJsonFile) {
  EXPECT_EQ(c::parse_log_size("100"), 100);
  EXPECT_EQ(c::parse_log_size("10k"), 10000);
  EXPECT_EQ(c::parse_log_size("10m"), 10000000);
  EXPECT_EQ(c::parse_log_size("10MB"), 10000000);
  EXPECT_EQ(c::parse_log_size("1.5k"), 1500);
  EXPECT_EQ(c::parse_log_size("2 g"), 2000000000);
  EXPECT_EQ(c::parse_log_size("-1"), -1);
  for (const char* bad : {"", "k", "1x", "10mm", "nan", "inf", "-2", "0x10", "1e3", " 1", "1."})
    EXPECT_ERROR(c::parse_log_size(bad), "invalid max-size");
  EXPECT_ERROR(c::parse_log_size("0"), "positive");
  EXPECT_ERROR(c::parse_log_size("99999999999p"), "too large");
}

TEST(LogConfig, DefaultsAndDockerRules) {
  auto d = c::log_config_from_flags({});
  EXPECT_EQ(d.at("max-size"), "10m");
  EXPECT_EQ(d.at("max-file"), "3");
  auto o = c::parse_log_config(d);
  EXPECT_EQ(o.max_size, 10000000);
  EXPECT_EQ(o.max_file, 3);
  // max-size alone keeps one file, as in Docker.
  o = c::parse_log_config(c::log_config_from_flags({"max-size=1m"}));
  EXPECT_EQ(o.max_size, 1000000);
  EXPECT_EQ(o.max_file, 1);
  o = c::parse_log_config(c::log_config_from_flags({"max-size=-1"}));
  EXPECT_EQ(o.max_size, -1);
  EXPECT_ERROR(c::log_config_from_flags({"max-file=2"}), "max-file cannot be set without max-size");
  EXPECT_ERROR(c::log_config_from_flags({"max-size=-1", "max-file=2"}), "without max-size");
  EXPECT_ERROR(c::log_config_from_flags({"max-size=1m", "max-file=0"}), "less than 1");
  EXPECT_ERROR(c::log_config_from_flags({"max-size=1m", "max-file=x"}), "invalid max-file");
  EXPECT_ERROR(c::log_config_from_flags({"compress=true"}), "unknown log opt 'compress'");
  EXPECT_ERROR(c::log_config_from_flags({"max-size"}), "KEY=VALUE");
}

TEST(LogConfig, OldConfigGetsTheDefaultLimit) {
  nlohmann::json j = {{"Id", "abc"}};
  auto cfg = j.get<c::Config>();
  auto o = c::parse_log_config(cfg.log_config);
  EXPECT_EQ(o.max_size, 10000000);
  EXPECT_EQ(o.max_file, 3);
  nlohmann::json back = cfg;
  EXPECT_EQ(back["LogConfig"]["Type"], "json-file");
  EXPECT_EQ(back["LogConfig"]["Config"]["max-size"], "10m");
}

TEST(LogWriter, SameBytesAsAJsonObjectPerLine) {
  TempDir t;
  fs::path log = t.path / "x-json.log";
  c::LogWriter w(log, {});
  std::string bad_utf8 = "a\"\\\t\xff\n";
  w.write("stderr", bad_utf8.data(), bad_utf8.size());
  std::ifstream in(log);
  std::string got;
  std::getline(in, got);
  auto j = nlohmann::json::parse(got);
  nlohmann::json want = {{"log", "a\"\\\t\xff\n"}, {"stream", "stderr"}, {"time", j["time"]}};
  EXPECT_EQ(got, want.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

TEST(LogWriter, RotatesAtMaxSizeAndKeepsMaxFileFiles) {
  TempDir t;
  fs::path log = t.path / "x-json.log";
  {
    c::LogWriter w(log, {1000, 3});
    for (int i = 0; i < 300; ++i) w.write("stdout", line(i).data(), line(i).size());
    w.flush();
  }
  ASSERT_TRUE(fs::exists(log));
  ASSERT_TRUE(fs::exists(c::rotated_log(log, 1)));
  ASSERT_TRUE(fs::exists(c::rotated_log(log, 2)));
  EXPECT_FALSE(fs::exists(c::rotated_log(log, 3)));
  for (const auto& p : {log, c::rotated_log(log, 1), c::rotated_log(log, 2)})
    EXPECT_LE(fs::file_size(p), 1000u) << p;
  // The rotated files are full (within one line of max-size).
  EXPECT_GT(fs::file_size(c::rotated_log(log, 1)), 900u);
  // Oldest first, no gap, ending with the last line.
  auto lines = read_all(log);
  ASSERT_GT(lines.size(), 20u);
  EXPECT_EQ(lines.back(), line(299));
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], line(300 - int(lines.size()) + int(i)));
  auto tail = read_all(log, 25);  // spans two files: ~13 lines per file
  ASSERT_EQ(tail.size(), 25u);
  EXPECT_EQ(tail.front(), line(275));
  EXPECT_EQ(tail.back(), line(299));
}

TEST(LogWriter, OneFileIsDroppedAndStartedAgain) {
  TempDir t;
  fs::path log = t.path / "x-json.log";
  c::LogWriter w(log, {500, 1});
  for (int i = 0; i < 100; ++i) w.write("stdout", line(i).data(), line(i).size());
  EXPECT_LE(fs::file_size(log), 500u);
  EXPECT_FALSE(fs::exists(c::rotated_log(log, 1)));
  EXPECT_EQ(read_all(log).back(), line(99));
}

TEST(LogWriter, AppendsToTheFileOfAnEarlierStart) {
  TempDir t;
  fs::path log = t.path / "x-json.log";
  {
    c::LogWriter w(log, {1000, 2});
    for (int i = 0; i < 10; ++i) w.write("stdout", line(i).data(), line(i).size());
  }
  auto before = fs::file_size(log);
  ASSERT_GT(before, 500u);
  c::LogWriter w(log, {1000, 2});  // a restart: its size counts
  for (int i = 10; i < 20; ++i) w.write("stdout", line(i).data(), line(i).size());
  EXPECT_LE(fs::file_size(log), 1000u);
  EXPECT_LE(fs::file_size(c::rotated_log(log, 1)), 1000u);
}

TEST(LogWriter, UnlimitedNeverRotates) {
  TempDir t;
  fs::path log = t.path / "x-json.log";
  c::LogWriter w(log, {-1, 1});
  for (int i = 0; i < 200; ++i) w.write("stdout", line(i).data(), line(i).size());
  EXPECT_GT(fs::file_size(log), 10000u);
  EXPECT_FALSE(fs::exists(c::rotated_log(log, 1)));
  EXPECT_EQ(read_all(log).size(), 200u);
}

// `logs -f` goes on across rotations, also several between two of its polls:
// with enough files kept, it sees every line once, in order.
TEST(ReadLog, FollowsAcrossRotations) {
  TempDir t;
  fs::path log = t.path / "x-json.log";
  const int n = 3000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    c::LogWriter w(log, {2000, 1000});
    for (int i = 0; i < n; ++i) {
      w.write("stdout", line(i).data(), line(i).size());
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
    done = true;
  });
  std::vector<std::string> got;
  c::read_log(
      log, -1, true, [&] { return !done.load(); }, [&](const c::LogLine& l) { got.push_back(l.text); });
  writer.join();
  ASSERT_EQ(got.size(), size_t(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[i], line(i)) << i;
  EXPECT_TRUE(fs::exists(c::rotated_log(log, 50)));  // it did rotate, many times
}
