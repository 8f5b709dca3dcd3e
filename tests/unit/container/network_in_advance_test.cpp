// The network namespace the CLI makes before its container exists
// (container/network_in_advance.h), and the CLI's rule for asking for one.
#include "container/network_in_advance.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/lifecycle.h"

namespace c = mctr::container;

static c::RunOptions with(const std::string& network, const std::string& userns = "") {
  c::RunOptions o;
  o.network = network;
  o.userns = userns;
  return o;
}

TEST(NetworkInAdvance, OnlyForANamespaceOfItsOwnWithoutAUserNamespace) {
  EXPECT_TRUE(c::gets_own_network_namespace(with("bridge")));
  EXPECT_TRUE(c::gets_own_network_namespace(with("none")));
  EXPECT_TRUE(c::gets_own_network_namespace(with("mynet")));
  EXPECT_TRUE(c::gets_own_network_namespace(with("none", "host")));
  EXPECT_FALSE(c::gets_own_network_namespace(with("host")));
  EXPECT_FALSE(c::gets_own_network_namespace(with("container:web")));
  EXPECT_FALSE(c::gets_own_network_namespace(with("bridge", "remap")));
  EXPECT_FALSE(c::gets_own_network_namespace(with("")));  // refused later, by create
}

static ino_t inode_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(NetworkInAdvance, MakesANewNamespaceAndLeavesOursAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET) needs root";
  const int ours = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ours, 0);
  mctr::UniqueFd made = c::make_network_namespace_in_advance();
  ASSERT_TRUE(made);
  EXPECT_NE(inode_of(made.get()), inode_of(ours));
  const int now = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(inode_of(now), inode_of(ours)) << "the thread that made it went back home";
  ::close(now);
  ::close(ours);
}
