// The flag checks of run/create/update (issue 18, "Input validation"): each
// bad value is refused with one clear message before anything is made.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "container/env.h"
#include "container/resource_flags.h"
#include "container/state.h"
#include "expect_error.h"
#include "linux/user.h"
#include "util/error.h"

using mctr::Error;
namespace c = mctr::container;

TEST(ParseBytes, DockerGrammar) {
  EXPECT_EQ(c::parse_bytes("1024"), 1024);
  EXPECT_EQ(c::parse_bytes("1b"), 1);
  EXPECT_EQ(c::parse_bytes("1k"), 1024);
  EXPECT_EQ(c::parse_bytes("256m"), 256 << 20);
  EXPECT_EQ(c::parse_bytes("256MB"), 256 << 20);
  EXPECT_EQ(c::parse_bytes("1.5g"), 3LL << 29);
  EXPECT_EQ(c::parse_bytes("2 GiB"), 2LL << 30);
  EXPECT_EQ(c::parse_bytes("1p"), 1LL << 50);
  for (const char* bad : {"", "m", "-1", "nan", "inf", "0x10", "1e3", "1.", ".5", "1x", "1mm", " 1", "1.2.3"})
    EXPECT_ERROR(c::parse_bytes(bad), "invalid size");
}

TEST(ParseBytes, TooLargeIsSaidSo) {
  // 1e20 cast to int64 gave INT64_MIN, then "minimum memory limit allowed is 6MB".
  EXPECT_ERROR(c::parse_bytes("99999999999999999999"), "too large");
  EXPECT_ERROR(c::parse_bytes("9223372036854775808"), "too large");  // 2^63
  EXPECT_ERROR(c::parse_bytes("8192p"), "too large");                // 2^63 too
  EXPECT_EQ(c::parse_bytes("8191p"), 8191LL << 50);
}

TEST(ResourceFlags, Cpus) {
  auto cpus = [](double v) {
    c::ResourceFlags f;
    f.cpus = v;
    return c::parse_resource_flags(f, 4);
  };
  const char* range = "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available";
  EXPECT_FALSE(cpus(0).cpus);  // Docker: no limit
  EXPECT_EQ(*cpus(0.01).cpus, 0.01);
  EXPECT_EQ(*cpus(4).cpus, 4);
  for (double bad : {0.001, -1.0, 4.01, std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()})
    EXPECT_ERROR(cpus(bad), range);
}

TEST(ResourceFlags, SizesNameTheirFlag) {
  c::ResourceFlags f;
  f.memory = "99999999999999999999";
  EXPECT_ERROR(c::parse_resource_flags(f, 1), "--memory: invalid size");
  f.memory.reset();
  f.memory_swap = "lots";
  EXPECT_ERROR(c::parse_resource_flags(f, 1), "--memory-swap: invalid size");
  f.memory_swap = "-1";
  EXPECT_EQ(*c::parse_resource_flags(f, 1).memory_swap, -1);
}

TEST(ResourceFlags, CheckedTogether) {
  mctr::cgroup::Resources r;
  r.memory = 1;
  EXPECT_ERROR(c::check_resources(r), "minimum memory limit allowed is 6MB");
  r.memory = 6 << 20;
  EXPECT_NO_THROW(c::check_resources(r));
  r.memory.reset();
  r.memory_swap = 16 << 20;
  EXPECT_ERROR(c::check_resources(r), "always set the memory limit");
  r.memory = 64 << 20;
  EXPECT_ERROR(c::check_resources(r), "memoryswap limit should be larger than memory limit");
  r.memory_swap = -1;
  EXPECT_NO_THROW(c::check_resources(r));
}

TEST(ResourceFlags, UpdateChecksTheMergedLimits) {
  // `update --memory-swap 16m` on a container with -m 64m: fine alone, wrong merged.
  mctr::cgroup::Resources saved, change;
  saved.memory = 64 << 20;
  change.memory_swap = 16 << 20;
  auto merged = c::merge_resources(saved, change);
  EXPECT_EQ(*merged.memory, 64 << 20);
  EXPECT_EQ(*merged.memory_swap, 16 << 20);
  EXPECT_ERROR(c::check_resources(merged), "memoryswap limit should be larger");
}

TEST(Env, FlagNeedsAName) {
  auto none = [](const std::string&) { return std::optional<std::string>(); };
  auto some = [](const std::string& k) { return std::optional<std::string>(k == "K" ? "v" : ""); };
  EXPECT_ERROR(c::env_from_flag("=x", none), "invalid environment variable: =x");
  EXPECT_ERROR(c::env_from_flag("", none), "invalid environment variable");
  EXPECT_EQ(*c::env_from_flag("A=1", none), "A=1");
  EXPECT_EQ(*c::env_from_flag("A=", none), "A=");
  EXPECT_FALSE(c::env_from_flag("K", none));  // unset here: dropped, as Docker
  EXPECT_EQ(*c::env_from_flag("K", some), "K=v");
}

TEST(Env, FileLinesWithSpacesInTheNameAreRefused) {
  auto none = [](const std::string&) { return std::optional<std::string>(); };
  EXPECT_EQ(c::parse_env_file("# c\n\nA=1\n  B=two words \nC\n", none),
            (std::vector<std::string>{"A=1", "B=two words"}));
  EXPECT_ERROR(c::parse_env_file("OK=1\na b=1\n", none), "variable 'a b' contains whitespaces");
  EXPECT_ERROR(c::parse_env_file("a\tb\n", none), "contains whitespaces");
  EXPECT_ERROR(c::parse_env_file("=x\n", none), "no variable name");
}

TEST(ContainerName, TooLongSaysSo) {
  EXPECT_NO_THROW(c::check_container_name(std::string(128, 'a')));
  EXPECT_ERROR(c::check_container_name(std::string(129, 'a')), "at most 128");
  EXPECT_ERROR(c::check_container_name(std::string(100000, 'a')), "100000 characters");
  EXPECT_ERROR(c::check_container_name("a b"), "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  EXPECT_ERROR(c::check_container_name("-a"), "only [a-zA-Z0-9]");
  EXPECT_NO_THROW(c::check_container_name("web-1.a_b"));
}

TEST(UserSpec, IdsInRangeAndNoGarbage) {
  using mctr::user::check_spec;
  for (const char* ok :
       {"0", "1000", "1000:1000", "4294967294", "nobody", "www-data:adm", "user$", "0:wheel"})
    EXPECT_NO_THROW(check_spec(ok)) << ok;
  // 99999999999 wrapped to uid 1215752191; (uid_t)-1 means "unchanged" to setuid.
  EXPECT_ERROR(check_spec("99999999999"), "out of range");
  EXPECT_ERROR(check_spec("4294967295"), "out of range");
  EXPECT_ERROR(check_spec("0:4294967295"), "out of range");
  EXPECT_ERROR(check_spec("00000000000000000000001"), "out of range");
  EXPECT_ERROR(check_spec("a b"), "neither a user name nor an id");
  EXPECT_ERROR(check_spec("-1"), "neither");
  EXPECT_ERROR(check_spec("1:2:3"), "more than one ':'");
  EXPECT_ERROR(check_spec(":1"), "empty user");
  EXPECT_ERROR(check_spec("1:"), "empty group");
}
