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

TEST_F(SeccompCache, HitGivesTheCompiledProgram) {
  sec::Options o;
  auto compiled = sec::compile_seccomp(o);
  ASSERT_FALSE(compiled.empty());
  auto first = sec::compile_seccomp_cached(o, dir_);  // miss: compiles and stores
  EXPECT_TRUE(same_program(first, compiled));
  auto file = only_file();
  auto second = sec::compile_seccomp_cached(o, dir_);  // hit
  EXPECT_TRUE(same_program(second, compiled));
  EXPECT_EQ(stdfs::file_size(file),
            sec::seccomp_cache_key(o).size() + 1 + compiled.size() * sizeof(sock_filter));
}

TEST_F(SeccompCache, HitIsReadFromTheFile) {
  sec::Options o;
  sec::compile_seccomp_cached(o, dir_);
  auto file = only_file();
  // The same inputs with a different (one-instruction) program: a hit must
  // return what the file holds, not compile again.
  std::string record = sec::seccomp_cache_key(o);
  record.push_back('\0');
  sock_filter kill = BPF_STMT(BPF_RET | BPF_K, 0U);
  record.append(reinterpret_cast<const char*>(&kill), sizeof kill);
  mctr::fs::write_file(file, record);
  auto prog = sec::compile_seccomp_cached(o, dir_);
  ASSERT_EQ(prog.size(), 1u);
  EXPECT_EQ(prog[0].k, 0u);
}

TEST_F(SeccompCache, DifferentCapabilitiesGetDifferentPrograms) {
  sec::Options plain, admin;
  admin.cap_add = {"SYS_ADMIN"};  // Docker's profile then allows mount, unshare, ...
  EXPECT_NE(sec::seccomp_fingerprint(plain), sec::seccomp_fingerprint(admin));
  auto a = sec::compile_seccomp_cached(plain, dir_);
  auto b = sec::compile_seccomp_cached(admin, dir_);
  EXPECT_FALSE(same_program(a, b));
  EXPECT_TRUE(same_program(b, sec::compile_seccomp(admin)));
}

TEST_F(SeccompCache, DamagedFileIsCompiledAgain) {
  sec::Options o;
  auto good = sec::compile_seccomp_cached(o, dir_);
  auto file = only_file();
  std::string bytes = mctr::fs::read_file(file);
  mctr::fs::write_file(file, bytes.substr(0, bytes.size() - 3));  // torn: not whole records
  EXPECT_TRUE(same_program(sec::compile_seccomp_cached(o, dir_), good));
  EXPECT_EQ(mctr::fs::read_file(file), bytes);  // rewritten whole
}

TEST_F(SeccompCache, FileForOtherInputsIsNotUsed) {
  sec::Options o;
  auto good = sec::compile_seccomp_cached(o, dir_);
  auto file = only_file();
  // Same name, but made for other inputs (as after a hash collision): an
  // allow-everything program must not be loaded in place of the real one.
  std::string forged = "other inputs";
  forged.push_back('\0');
  sock_filter allow = BPF_STMT(BPF_RET | BPF_K, 0x7fff0000U);
  forged.append(reinterpret_cast<const char*>(&allow), sizeof allow);
  mctr::fs::write_file(file, forged);
  EXPECT_TRUE(same_program(sec::compile_seccomp_cached(o, dir_), good));
}

TEST(SeccompCacheKey, DefaultProfileIsKeyedByBuildKernelAndCapabilities) {
  sec::Options plain, admin, custom;
  admin.cap_add = {"SYS_ADMIN"};
  std::string key = sec::seccomp_cache_key(plain);
  EXPECT_NE(key.find(" build "), std::string::npos) << key;  // the test binary has a build id too
  EXPECT_NE(key.find(" kernel "), std::string::npos) << key;
  EXPECT_NE(key, sec::seccomp_cache_key(admin));
  // A profile file is keyed by its rules, as before.
  custom.seccomp = "/some/profile.json";
  custom.seccomp_profile_json = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []})";
  EXPECT_EQ(sec::seccomp_cache_key(custom), sec::seccomp_fingerprint(custom));
}

TEST_F(SeccompCache, UnconfinedHasNoProgramAndNoFile) {
  sec::Options o;
  o.seccomp = "unconfined";
  EXPECT_TRUE(sec::compile_seccomp_cached(o, dir_).empty());
  EXPECT_FALSE(stdfs::exists(dir_));
}

}  // namespace
