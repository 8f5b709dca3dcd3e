// linux_ns::new_network_namespace: a namespace other than ours, with `lo` up,
// and the calling thread back in its own namespace afterwards (root).
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "linux/namespaces.h"
#include "util/fd.h"

using namespace mctr;

namespace {

ino_t netns_inode(int fd) {
  struct stat st {};
  EXPECT_EQ(0, ::fstat(fd, &st));
  return st.st_ino;
}

ino_t our_netns_inode() {
  struct stat st {};
  EXPECT_EQ(0, ::stat("/proc/thread-self/ns/net", &st));
  return st.st_ino;
}

short loopback_flags() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  EXPECT_EQ(0, ::ioctl(s.get(), SIOCGIFFLAGS, &ifr));
  return ifr.ifr_flags;
}

TEST(NewNetworkNamespace, IsAnotherNamespaceWithLoopbackUpAndWeStayInOurs) {
  const ino_t ours = our_netns_inode();
  UniqueFd made = linux_ns::new_network_namespace();
  ASSERT_GE(made.get(), 0);
  EXPECT_EQ(ours, our_netns_inode()) << "the calling thread went back to its namespace";
  EXPECT_NE(ours, netns_inode(made.get()));

  // Look inside from a thread of its own (setns moves only that thread).
  short flags = 0;
  int joined = -1;
  std::thread inside([&] {
    joined = ::setns(made.get(), CLONE_NEWNET);
    if (joined == 0) flags = loopback_flags();
  });
  inside.join();
  ASSERT_EQ(0, joined);
  EXPECT_TRUE(flags & IFF_UP) << "lo is up in the new namespace";
  EXPECT_EQ(ours, our_netns_inode());
}

TEST(NewNetworkNamespace, EachCallMakesANewOne) {
  UniqueFd a = linux_ns::new_network_namespace();
  UniqueFd b = linux_ns::new_network_namespace();
  EXPECT_NE(netns_inode(a.get()), netns_inode(b.get()));
}

}  // namespace
