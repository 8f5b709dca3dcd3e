// Masked and read-only paths, applied in a child's private mount namespace
// over a fresh proc mount (like the container's own /proc).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>

#include "linux/security/security.h"
#include "security/child.h"

namespace sec = mctr::security;

namespace {

constexpr long kTmpfsMagic = 0x01021994;

// Own mount namespace (nothing leaks to the host), with a /proc mounted the
// way the container init mounts it.
void private_proc() {
  CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
  CHILD_CHECK(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  CHILD_CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0);
}

bool is_dev_null(const char* path) {
  struct stat st {};
  return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

bool is_empty_tmpfs(const char* path) {
  struct statfs sf {};
  if (statfs(path, &sf) != 0 || sf.f_type != kTmpfsMagic) return false;
  return std::filesystem::is_empty(path);
}

}  // namespace

TEST(Paths, DockerLists) {
  EXPECT_EQ(sec::masked_paths().size(), 12u);
  EXPECT_EQ(sec::readonly_paths(), (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                             "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST(Paths, MaskedAndReadOnly) {
  ASSERT_EQ(getuid(), 0u) << "needs root";
  int rc = run_in_child([] {
    private_proc();
    CHILD_CHECK(!is_dev_null("/proc/timer_list"));
    CHILD_CHECK(access("/proc/sys/kernel/hostname", W_OK) == 0);
    sec::mask_paths(false);
    // Files: /dev/null bound over them.
    for (const char* f : {"/proc/timer_list", "/proc/keys", "/proc/interrupts"})
      if (access(f, F_OK) == 0) CHILD_CHECK(is_dev_null(f));
    // Directories: an empty read-only tmpfs.
    for (const char* d : {"/proc/acpi", "/sys/firmware"})
      if (access(d, F_OK) == 0) CHILD_CHECK(is_empty_tmpfs(d));
    if (access("/sys/firmware", F_OK) == 0)
      CHILD_CHECK(mkdir("/sys/firmware/x", 0755) == -1 && errno == EROFS);
    // Read-only: writes fail with EROFS, and the proc mount's nosuid,
    // nodev, noexec flags are still there.
    int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
    CHILD_CHECK(fd == -1 && errno == EROFS);
    struct statvfs sv {};
    CHILD_CHECK(statvfs("/proc/sys", &sv) == 0);
    CHILD_CHECK(sv.f_flag & ST_RDONLY);
    CHILD_CHECK((sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC)) == (ST_NOSUID | ST_NODEV | ST_NOEXEC));
    // The rest of /proc stays writable.
    CHILD_CHECK(statvfs("/proc/self", &sv) == 0 && !(sv.f_flag & ST_RDONLY));
  });
  EXPECT_EQ(rc, 0);
}

TEST(Paths, PrivilegedMasksNothing) {
  int rc = run_in_child([] {
    private_proc();
    sec::mask_paths(true);
    CHILD_CHECK(!is_dev_null("/proc/timer_list"));
    CHILD_CHECK(access("/proc/sys/kernel/hostname", W_OK) == 0);
  });
  EXPECT_EQ(rc, 0);
}
