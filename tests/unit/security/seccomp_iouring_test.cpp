// io_uring under the default seccomp profile: refused with EPERM, as in
// Docker since 25.0 (a ring's operations bypass per-syscall filtering).
#include <gtest/gtest.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "linux/security/seccomp_profile.h"
#include "linux/security/security.h"
#include "security/child.h"

namespace sec = mctr::security;

namespace {

constexpr const char* kIoUringCalls[] = {"io_uring_setup", "io_uring_enter", "io_uring_register"};

// io_uring_setup(2) with a small ring: a file descriptor, or -1 and errno.
long ring_setup() {
  io_uring_params params;
  std::memset(&params, 0, sizeof params);
  return syscall(__NR_io_uring_setup, 4, &params);
}

}  // namespace

// The table itself: no rule allows any of the three, whatever the capability.
TEST(SeccompIoUring, DefaultTableAllowsNoIoUringCall) {
  const sec::Profile p = sec::docker_default_profile();
  for (const char* name : kIoUringCalls)
    for (const auto& r : p.syscalls)
      EXPECT_TRUE(r.action != sec::Action::Allow ||
                  std::find(r.names.begin(), r.names.end(), name) == r.names.end())
          << name << " is allowed by a rule of the default profile";
}

// The loaded filter: each of the three fails with EPERM, even for a process
// that keeps every capability (no rule brings them back with a capability).
TEST(SeccompIoUring, DefaultFilterRefusesEveryIoUringCall) {
  // Control: the kernel has io_uring at all (else EPERM would prove nothing).
  const long fd = ring_setup();
  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    GTEST_SKIP() << "io_uring is unavailable on this host (" << std::strerror(errno) << ")";
  ASSERT_GE(fd, 0) << std::strerror(errno);
  close(static_cast<int>(fd));

  int rc = run_in_child([] {
    CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
    CHILD_CHECK(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
    sec::set_no_new_privs();
    sec::Options o;
    o.cap_add = {"ALL"};
    sec::apply_seccomp(o);
    CHILD_CHECK(ring_setup() == -1 && errno == EPERM);
    CHILD_CHECK(syscall(__NR_io_uring_enter, 0, 1, 0, 0, nullptr, 0) == -1 && errno == EPERM);
    CHILD_CHECK(syscall(__NR_io_uring_register, 0, 0, nullptr, 0) == -1 && errno == EPERM);
  });
  EXPECT_EQ(rc, 0);
}
