// Peer lines of a container's /etc/hosts: pure text, plus the in-place
// rewrite that keeps the file's inode (what its bind mount is bound to).
#include "linux/net/hosts_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/net/ipv4.h"
#include "linux/net/network.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::net {
namespace {

// 10.88.0.0/16 and (roughly) fd00::/64.
bool in_test_subnet(const std::string& a) {
  if (a.rfind("fd00::", 0) == 0) return true;
  try {
    return Subnet::parse("10.88.0.0/16").contains(parse_ipv4(a));
  } catch (const Error&) {
    return false;
  }
}

const std::string kHeader =
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost\n"
    "10.88.0.2\tabc123 web\n"
    "192.168.1.9\tsomehost\n";

TEST(NetHostsFile, PeersReplaceOldPeerLinesOwnLineStays) {
  std::string current = kHeader + "10.88.0.3\told\n10.88.0.4\tgone\n";
  std::string got =
      hosts_with_peers(current, in_test_subnet, {"10.88.0.2"},
                       {{"id3", "db", "10.88.0.3", ""}, {"id5", "cache", "10.88.0.5", "fd00::5"}});
  EXPECT_EQ(got, kHeader + "10.88.0.3\tdb\n10.88.0.5\tcache\nfd00::5\tcache\n");
  // Unchanged input, unchanged output: no write needed.
  EXPECT_EQ(hosts_with_peers(got, in_test_subnet, {"10.88.0.2"},
                             {{"id3", "db", "10.88.0.3", ""}, {"id5", "cache", "10.88.0.5", "fd00::5"}}),
            got);
}

TEST(NetHostsFile, NoPeersLeavesOnlyTheContainersOwnLines) {
  EXPECT_EQ(hosts_with_peers(kHeader + "10.88.0.3\tdb\n", in_test_subnet, {"10.88.0.2"}, {}), kHeader);
  // A peer without a name has nothing to resolve.
  EXPECT_EQ(hosts_with_peers(kHeader, in_test_subnet, {"10.88.0.2"}, {{"id", "", "10.88.0.9", ""}}), kHeader);
}

// One list of every attached container serves every file: the file's own
// container is skipped by id. Leading blanks, tabs, a last line without its
// newline and comments are read as before.
TEST(NetHostsFile, SkipsItsOwnContainerAndReadsOddLines) {
  const std::vector<HostEntry> all = {{"id2", "web", "10.88.0.2", ""}, {"id3", "db", "10.88.0.3", ""}};
  EXPECT_EQ(hosts_with_peers(kHeader, in_test_subnet, {"10.88.0.2"}, all, "id2"),
            kHeader + "10.88.0.3\tdb\n");
  EXPECT_EQ(
      hosts_with_peers("  10.88.0.7 \t old\n# 10.88.0.8 comment\n\n10.88.0.9\tlast", in_test_subnet, {}, {}),
      "# 10.88.0.8 comment\n\n");
}

TEST(NetHostsFile, RewriteKeepsTheInodeAndShrinks) {
  char tmpl[] = "/tmp/minictr-hosts-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl, file = dir / "hosts";
  fs::write_file_atomic(file, std::string(200, 'x') + "\n", 0644, false);
  struct stat before {
  }, after{};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  EXPECT_TRUE(rewrite_in_place(file, "short\n"));
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "a new inode would be invisible through the bind mount";
  EXPECT_EQ(fs::read_file(file), "short\n");
  EXPECT_FALSE(rewrite_in_place(dir / "missing", "x"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mctr::net
