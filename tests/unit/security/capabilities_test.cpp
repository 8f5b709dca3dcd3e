// Capabilities: Docker's name rules, and what the kernel reports after
// drop_capabilities in a real process.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "linux/security/security.h"
#include "security/child.h"
#include "util/error.h"

namespace sec = mctr::security;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The 64-bit mask /proc/self/status prints for a list of names.
uint64_t mask_of(const std::vector<std::string>& names) {
  uint64_t m = 0;
  for (const auto& n : names) {
    std::string lower = "cap_" + n;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    cap_value_t v;
    if (cap_from_name(lower.c_str(), &v) != 0) ADD_FAILURE() << "bad name " << n;
    m |= 1ULL << v;
  }
  return m;
}

// "CapEff:\t00000000a80425fb" -> 0xa80425fb
uint64_t status_mask(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1), nullptr, 16);
  return ~0ULL;
}

}  // namespace

TEST(Capabilities, DockerDefaultIsFourteen) {
  const auto& d = sec::default_capabilities();
  EXPECT_EQ(d.size(), 14u);
  for (const char* c : {"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                        "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"})
    EXPECT_TRUE(has(d, c)) << c;
  EXPECT_EQ(sec::resolve_capabilities({}), d);
}

TEST(Capabilities, NamesWithOrWithoutPrefixAnyCase) {
  EXPECT_EQ(sec::normalize_capability("net_admin"), "NET_ADMIN");
  EXPECT_EQ(sec::normalize_capability("CAP_NET_ADMIN"), "NET_ADMIN");
  EXPECT_EQ(sec::normalize_capability("Cap_Sys_Admin"), "SYS_ADMIN");
  EXPECT_THROW(sec::normalize_capability("NET_ADMINN"), mctr::Error);
  EXPECT_THROW(sec::normalize_capability(""), mctr::Error);
  sec::Options o;
  o.cap_add = {"FLY"};
  EXPECT_THROW(sec::resolve_capabilities(o), mctr::Error);
}

TEST(Capabilities, AddAndDrop) {
  sec::Options o;
  o.cap_add = {"cap_net_admin", "NET_ADMIN"};
  o.cap_drop = {"chown", "CAP_NET_RAW"};
  auto k = sec::resolve_capabilities(o);
  EXPECT_EQ(k.size(), 13u);
  EXPECT_TRUE(has(k, "NET_ADMIN"));
  EXPECT_FALSE(has(k, "CHOWN"));
  EXPECT_FALSE(has(k, "NET_RAW"));
}

TEST(Capabilities, AllSemantics) {
  const auto all = sec::all_capabilities();
  EXPECT_GE(all.size(), 38u);  // every kernel since 5.9 has 41
  EXPECT_EQ(all.front(), "CHOWN");

  sec::Options add_all;  // --cap-add ALL --cap-drop NET_ADMIN: everything but NET_ADMIN
  add_all.cap_add = {"all"};
  add_all.cap_drop = {"NET_ADMIN"};
  auto k = sec::resolve_capabilities(add_all);
  EXPECT_EQ(k.size(), all.size() - 1);
  EXPECT_FALSE(has(k, "NET_ADMIN"));
  EXPECT_TRUE(has(k, "SYS_ADMIN"));

  sec::Options drop_all;  // --cap-drop ALL --cap-add NET_BIND_SERVICE: only that one
  drop_all.cap_drop = {"ALL"};
  drop_all.cap_add = {"NET_BIND_SERVICE"};
  EXPECT_EQ(sec::resolve_capabilities(drop_all), std::vector<std::string>{"NET_BIND_SERVICE"});

  sec::Options privileged;
  privileged.privileged = true;
  privileged.cap_drop = {"ALL"};
  EXPECT_EQ(sec::resolve_capabilities(privileged), all);
}

TEST(Capabilities, DropInChildLeavesExactlyTheKeptSets) {
  ASSERT_EQ(getuid(), 0u) << "needs root";
  const auto keep = sec::default_capabilities();
  const uint64_t want = mask_of(keep);
  int rc = run_in_child([&] {
    // Own UTS namespace first, so a wrong result cannot rename the host.
    CHILD_CHECK(unshare(CLONE_NEWUTS) == 0);
    CHILD_CHECK(sethostname("before", 6) == 0);  // root with all caps: allowed
    sec::drop_capabilities(keep);
    CHILD_CHECK(status_mask("CapEff") == want);
    CHILD_CHECK(status_mask("CapPrm") == want);
    CHILD_CHECK(status_mask("CapInh") == 0);  // Docker >= 20.10.14
    CHILD_CHECK(status_mask("CapBnd") == want);
    CHILD_CHECK(status_mask("CapAmb") == 0);
    // Without CAP_SYS_ADMIN the kernel refuses.
    CHILD_CHECK(sethostname("after", 5) == -1 && errno == EPERM);
    // CAP_CHOWN kept: chown of a file we own to another uid works.
    char path[] = "/tmp/mctr-cap-XXXXXX";
    int fd = mkstemp(path);
    CHILD_CHECK(fd >= 0);
    bool chowned = fchown(fd, 1234, 1234) == 0;
    close(fd);
    unlink(path);
    CHILD_CHECK(chowned);
    // The bounding set is a ceiling: raising SYS_ADMIN again fails.
    CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0);
  });
  EXPECT_EQ(rc, 0);
}

TEST(Capabilities, DropAllLeavesNothing) {
  int rc = run_in_child([] {
    char path[] = "/tmp/mctr-cap-XXXXXX";
    int fd = mkstemp(path);
    CHILD_CHECK(fd >= 0);
    close(fd);
    CHILD_CHECK(chmod(path, 0) == 0);
    CHILD_CHECK(access(path, R_OK) == 0);  // root: CAP_DAC_OVERRIDE ignores the mode
    sec::drop_capabilities({});
    CHILD_CHECK(status_mask("CapEff") == 0);
    CHILD_CHECK(status_mask("CapBnd") == 0);
    bool denied = access(path, R_OK) == -1 && errno == EACCES;  // now the mode bits rule
    unlink(path);
    CHILD_CHECK(denied);
  });
  EXPECT_EQ(rc, 0);
}

TEST(Capabilities, KeptAcrossSetuidToNonRoot) {
  int rc = run_in_child([] {
    sec::keep_capabilities_across_setuid();
    CHILD_CHECK(setresgid(1000, 1000, 1000) == 0);
    CHILD_CHECK(setresuid(1000, 1000, 1000) == 0);
    sec::drop_capabilities({"NET_BIND_SERVICE", "KILL"});
    CHILD_CHECK(status_mask("CapEff") == mask_of({"NET_BIND_SERVICE", "KILL"}));
    CHILD_CHECK(status_mask("CapBnd") == mask_of({"NET_BIND_SERVICE", "KILL"}));
  });
  EXPECT_EQ(rc, 0);
}

TEST(Capabilities, NoNewPrivsIsSet) {
  int rc = run_in_child([] {
    CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
    sec::set_no_new_privs();
    CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
  });
  EXPECT_EQ(rc, 0);
}

TEST(Capabilities, PrivilegedKeepsEverythingThisHostAllows) {
  // "All" is what our own bounding set still holds (a sandboxed host may
  // lack some): asking for more would make capset fail.
  const uint64_t host_bounding = status_mask("CapBnd");
  sec::Options o;
  o.privileged = true;
  EXPECT_EQ(mask_of(sec::resolve_capabilities(o)), host_bounding);
  int rc = run_in_child([&] {
    sec::drop_capabilities(sec::resolve_capabilities(o));
    CHILD_CHECK(status_mask("CapEff") == host_bounding);
    CHILD_CHECK(status_mask("CapBnd") == host_bounding);
  });
  EXPECT_EQ(rc, 0);
}
