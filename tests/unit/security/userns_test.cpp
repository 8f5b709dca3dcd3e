// User namespace id maps written by a parent for a child that unshared
// CLONE_NEWUSER: root inside is uid 100000 outside.
#include "linux/security/userns.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "security/child.h"
#include "util/error.h"
#include "util/scope_guard.h"

namespace sec = mctr::security;

TEST(UserNs, ParseAndFormat) {
  auto m = sec::parse_id_mappings("0:100000:65536,65536:1000:1");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(sec::format_id_map(m), "0 100000 65536\n65536 1000 1\n");
  for (const char* bad : {"", "0:1", "0:1:2:3", "a:1:2", "0:1:0", "0:-1:5", "0:99999999999:1"})
    EXPECT_THROW(sec::parse_id_mappings(bad), mctr::Error) << bad;
}

// run --userns=CONTAINER_ID:HOST_ID:SIZE: one range that maps root, not onto the host's.
TEST(UserNs, RunFlagRange) {
  auto m = sec::parse_userns_range("0:100000:65536");
  EXPECT_EQ(m.container_id, 0u);
  EXPECT_EQ(m.host_id, 100000u);
  EXPECT_EQ(m.size, 65536u);
  EXPECT_EQ(sec::host_id_of(0, {m}), 100000u);
  EXPECT_EQ(sec::host_id_of(65535, {m}), 165535u);
  EXPECT_EQ(sec::host_id_of(65536, {m}), 65536u);  // unmapped: itself
  for (const char* bad : {"0:100000", "1:100000:65536", "0:100000:0", "0:0:65536", "0:4294967000:65536",
                          "0:100000:10,10:200000:10", "remap2", ""})
    EXPECT_THROW(sec::parse_userns_range(bad), mctr::Error) << bad;
}

// run --userns=remap: the first dockremap or root line, else Docker's 100000:65536.
TEST(UserNs, RemapRangeFromSubidFile) {
  char path[] = "/tmp/mctr-subuid-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  mctr::ScopeGuard remove([&] { unlink(path); });
  std::ofstream(path) << "alice:100000:65536\nroot:bad:1\ndockremap:231072:65536\nroot:300000:65536\n";
  auto m = sec::remap_range(path);
  EXPECT_EQ(m.container_id, 0u);
  EXPECT_EQ(m.host_id, 231072u);
  EXPECT_EQ(m.size, 65536u);
  std::ofstream(path) << "alice:100000:65536\n";
  EXPECT_EQ(sec::remap_range(path).host_id, 100000u);
  EXPECT_EQ(sec::remap_range("/nonexistent/subuid").size, 65536u);
}

TEST(UserNs, ParentWritesMapsForChild) {
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  // A file owned by host uid 100000 looks like root's file inside.
  char path[] = "/tmp/mctr-userns-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_EQ(chown(path, 100000, 100000), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    CHILD_CHECK(unshare(CLONE_NEWUSER) == 0);
    CHILD_CHECK(write(ready[1], "r", 1) == 1);
    char c;
    CHILD_CHECK(read(go[0], &c, 1) == 1);
    // Our host uid 0 is not in the map (it reads as 65534) until we switch
    // to the namespace's root, which is host uid 100000.
    CHILD_CHECK(getuid() == 65534);
    CHILD_CHECK(setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0);
    CHILD_CHECK(getuid() == 0 && getgid() == 0);
    std::ifstream in("/proc/self/uid_map");
    std::stringstream text;
    text << in.rdbuf();
    CHILD_CHECK(text.str().find("100000") != std::string::npos);
    struct stat st {};
    CHILD_CHECK(stat(path, &st) == 0 && st.st_uid == 0);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  int status = 0;
  // Whatever happens below, let the child go and reap it.
  mctr::ScopeGuard reap([&] {
    close(go[1]);
    close(ready[0]);
    waitpid(pid, &status, 0);
    unlink(path);
  });
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_NO_THROW(sec::write_id_maps(pid, {{0, 100000, 65536}}, {{0, 100000, 65536}}));
  // A second write is refused by the kernel.
  EXPECT_THROW(sec::write_id_maps(pid, {{0, 100000, 65536}}, {{0, 100000, 65536}}), mctr::SysError);
  ASSERT_EQ(write(go[1], "g", 1), 1);
  reap.dismiss();
  close(go[1]);
  close(ready[0]);
  waitpid(pid, &status, 0);
  unlink(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
