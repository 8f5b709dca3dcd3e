// The last-level cache size the matvec kernels plan with (model/cpu_cache.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/cpu_cache.h"

namespace mctr::infer {
namespace {

TEST(CpuCache, ParsesSysfsSizes) {
  EXPECT_EQ(parse_cache_size("32768K\n"), 32768u << 10);
  EXPECT_EQ(parse_cache_size("1M"), 1u << 20);
  EXPECT_EQ(parse_cache_size("512"), 512u);
  EXPECT_EQ(parse_cache_size(""), 0u);
  EXPECT_EQ(parse_cache_size("K"), 0u);
  EXPECT_EQ(parse_cache_size("12Q"), 0u);
}

// A fake sysfs cache directory: index0.. with level, type and size files.
class CpuCacheSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mctr-cpu-cache-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void add(int index, const std::string& level, const std::string& type, const std::string& size) {
    const auto d = dir_ / ("index" + std::to_string(index));
    std::filesystem::create_directories(d);
    std::ofstream(d / "level") << level << "\n";
    std::ofstream(d / "type") << type << "\n";
    std::ofstream(d / "size") << size << "\n";
  }
  std::filesystem::path dir_;
};

TEST_F(CpuCacheSysfs, TakesTheHighestLevel) {
  // This development VM's: glibc's sysconf said 320 MB for the L3, the kernel 32 MB.
  add(0, "1", "Data", "32K");
  add(1, "1", "Instruction", "32K");
  add(2, "2", "Unified", "1024K");
  add(3, "3", "Unified", "32768K");
  EXPECT_EQ(last_level_cache_bytes_from(dir_.string()), size_t{32} << 20);
}

TEST_F(CpuCacheSysfs, IgnoresInstructionCachesAndBadSizes) {
  add(0, "1", "Data", "48K");
  add(1, "2", "Instruction", "2048K");  // not where weights go
  add(2, "3", "Unified", "garbage");
  EXPECT_EQ(last_level_cache_bytes_from(dir_.string()), size_t{48} << 10);
}

TEST_F(CpuCacheSysfs, NothingThereIsUnknown) {
  EXPECT_EQ(last_level_cache_bytes_from(dir_.string()), 0u);
  EXPECT_EQ(last_level_cache_bytes_from("/nonexistent"), 0u);
}

}  // namespace
}  // namespace mctr::infer
