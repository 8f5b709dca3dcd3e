// The cache of compiled seccomp programs: a hit gives exactly the program
// libseccomp compiles, and a stale, foreign or damaged file is never used.
#include <gtest/gtest.h>
#include <linux/filter.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "linux/security/security.h"
#include "util/fs.h"

namespace sec = mctr::security;
namespace stdfs = std::filesystem;

namespace {

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/minictr-seccomp-cache.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = stdfs::path(tmpl) / "cache";
  }
  void TearDown() override { stdfs::remove_all(dir_.parent_path()); }

  // The one file the cache holds.
  stdfs::path only_file() const {
    stdfs::path found;
    int n = 0;
    for (const auto& e : stdfs::directory_iterator(dir_)) {
      found = e.path();
      ++n;
    }
    EXPECT_EQ(n, 1);
    return found;
  }

  stdfs::path dir_;
};

bool same_program(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(sock_filter)) == 0;
}

// What a caller names its inputs by (from_bundle.cpp: the profile's text
// and the compiler), and the compile it asks for on a miss, counted.
const std::string kKey = sec::seccomp_compiler_fingerprint() + "Docker's default profile";
struct Compiler {
  int calls = 0;
  std::vector<sock_filter> operator()() {
    ++calls;
    return sec::compile_seccomp(sec::Options{});
  }
};

std::vector<sock_filter> cached(const std::string& key, const stdfs::path& dir, Compiler& c) {
  return sec::compile_seccomp_cached(key, dir, [&] { return c(); });
}

TEST_F(SeccompCache, HitGivesTheCompiledProgram) {
  auto compiled = sec::compile_seccomp(sec::Options{});
  ASSERT_FALSE(compiled.empty());
  Compiler c;
  auto first = cached(kKey, dir_, c);  // miss: compiles and stores
  EXPECT_TRUE(same_program(first, compiled));
  EXPECT_EQ(c.calls, 1);
  auto file = only_file();
  auto second = cached(kKey, dir_, c);  // hit
  EXPECT_TRUE(same_program(second, compiled));
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(stdfs::file_size(file), kKey.size() + 1 + compiled.size() * sizeof(sock_filter));
}

TEST_F(SeccompCache, HitIsReadFromTheFile) {
  Compiler c;
  cached(kKey, dir_, c);
  auto file = only_file();
  // The same inputs with a different (one-instruction) program: a hit must
  // return what the file holds, not compile again.
  std::string record = kKey;
  record.push_back('\0');
  sock_filter kill = BPF_STMT(BPF_RET | BPF_K, 0U);
  record.append(reinterpret_cast<const char*>(&kill), sizeof kill);
  mctr::fs::write_file(file, record);
  auto prog = cached(kKey, dir_, c);
  ASSERT_EQ(prog.size(), 1u);
  EXPECT_EQ(prog[0].k, 0u);
  EXPECT_EQ(c.calls, 1);
}

TEST_F(SeccompCache, OtherKeysGetTheirOwnFiles) {
  Compiler c;
  cached(kKey, dir_, c);
  cached(kKey + " and CAP_SYS_ADMIN", dir_, c);
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(std::distance(stdfs::directory_iterator(dir_), {}), 2);
}

TEST_F(SeccompCache, DamagedFileIsCompiledAgain) {
  Compiler c;
  auto good = cached(kKey, dir_, c);
  auto file = only_file();
  std::string bytes = mctr::fs::read_file(file);
  mctr::fs::write_file(file, bytes.substr(0, bytes.size() - 3));  // torn: not whole records
  EXPECT_TRUE(same_program(cached(kKey, dir_, c), good));
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(mctr::fs::read_file(file), bytes);  // rewritten whole
}

TEST_F(SeccompCache, FileForOtherInputsIsNotUsed) {
  Compiler c;
  auto good = cached(kKey, dir_, c);
  auto file = only_file();
  // Same name, but made for other inputs (as after a hash collision): an
  // allow-everything program must not be loaded in place of the real one.
  std::string forged = "other inputs";
  forged.push_back('\0');
  sock_filter allow = BPF_STMT(BPF_RET | BPF_K, 0x7fff0000U);
  forged.append(reinterpret_cast<const char*>(&allow), sizeof allow);
  mctr::fs::write_file(file, forged);
  EXPECT_TRUE(same_program(cached(kKey, dir_, c), good));
}

TEST(SeccompCompilerFingerprint, NamesLibseccomp) {
  EXPECT_NE(sec::seccomp_compiler_fingerprint().find("libseccomp "), std::string::npos);
}

}  // namespace
