// The device allow-list on real cgroups: v1 devices controller, and a v2
// BPF device program attached to a child of the unified hierarchy. A forked
// process joins a temporary cgroup and tries to open a block device node.
#include "linux/cgroup/devices.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "security/child.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/scope_guard.h"

namespace dev = mctr::cgroup;
namespace stdfs = std::filesystem;

namespace {

const stdfs::path kV1Devices = "/sys/fs/cgroup/devices";

// The v2 hierarchy: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
stdfs::path v2_root() {
  for (const char* p : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (stdfs::exists(stdfs::path(p) / "cgroup.controllers")) return p;
  return {};
}

// A block device root can open on this host when no cgroup restricts it
// (the root disk may be off limits in a sandboxed VM; a loop device is not).
dev_t openable_block_device(const std::string& tmpdir) {
  std::vector<dev_t> candidates;
  struct stat st {};
  if (stat("/", &st) == 0 && major(st.st_dev) != 0) candidates.push_back(st.st_dev);
  for (const auto& e : stdfs::directory_iterator("/sys/block")) {
    unsigned maj = 0, min = 0;
    auto text = mctr::fs::read_file(e.path() / "dev");
    if (sscanf(text.c_str(), "%u:%u", &maj, &min) == 2) candidates.push_back(makedev(maj, min));
  }
  std::string probe = tmpdir + "/probe";
  for (dev_t d : candidates) {
    if (mknod(probe.c_str(), S_IFBLK | 0600, d) != 0) continue;
    int fd = open(probe.c_str(), O_RDONLY);
    unlink(probe.c_str());
    if (fd >= 0) {
      close(fd);
      return d;
    }
  }
  return 0;
}

// A temp dir with device nodes we make ourselves: the block disk and /dev/null.
struct TempDir {
  std::string path;
  TempDir() {
    char d[] = "/tmp/mctr-dev-XXXXXX";
    if (!mkdtemp(d)) mctr::throw_sys("mkdtemp");
    path = d;
  }
  ~TempDir() { stdfs::remove_all(path); }
};

struct Nodes {
  TempDir tmp;  // first: removed even when a constructor step below throws
  std::string dir = tmp.path;
  std::string disk, null, kmsg;
  dev_t disk_dev = 0;
  Nodes() {
    disk_dev = openable_block_device(dir);
    if (disk_dev == 0) throw std::runtime_error("no block device root can open on this host");
    disk = dir + "/disk";
    null = dir + "/null";
    kmsg = dir + "/kmsg";
    mctr::check_sys(mknod(disk.c_str(), S_IFBLK | 0600, disk_dev), "mknod", disk);
    mctr::check_sys(mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)), "mknod", null);
    mctr::check_sys(mknod(kmsg.c_str(), S_IFCHR | 0600, makedev(1, 11)), "mknod", kmsg);
  }
};

// A child cgroup made for one test, removed after (the child process that
// joined it has exited by then).
struct TempCgroup {
  stdfs::path path;
  explicit TempCgroup(const stdfs::path& parent) {
    path = parent / ("mctr-test-security-" + std::to_string(getpid()));
    mctr::check_sys(mkdir(path.c_str(), 0755), "mkdir", path);
  }
  ~TempCgroup() { rmdir(path.c_str()); }
};

bool opens(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags);
  if (fd < 0) return false;
  close(fd);
  return true;
}

void join(const stdfs::path& cg) { mctr::fs::write_file(cg / "cgroup.procs", std::to_string(getpid())); }

// In a child that joined `cg`: the disk and kmsg may not be opened, /dev/null may;
// mknod of a new block node is still allowed ("b *:* m").
void expect_restricted(const stdfs::path& cg, const Nodes& n) {
  join(cg);
  CHILD_CHECK(!opens(n.disk, O_RDONLY) && errno == EPERM);
  CHILD_CHECK(!opens(n.kmsg, O_RDONLY) && errno == EPERM);
  CHILD_CHECK(opens(n.null, O_RDWR));
  CHILD_CHECK(opens("/dev/null", O_RDWR));
  std::string again = n.dir + "/disk2";
  CHILD_CHECK(mknod(again.c_str(), S_IFBLK | 0600, n.disk_dev) == 0);
  CHILD_CHECK(!opens(again, O_RDONLY) && errno == EPERM);
}

}  // namespace

TEST(Devices, DockerDefaultList) {
  std::vector<std::string> got;
  for (const auto& r : dev::device_allow_list(false)) got.push_back(dev::to_string(r));
  EXPECT_EQ(got, (std::vector<std::string>{"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
                                           "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
                                           "c 136:* rwm", "c 10:200 rwm"}));
  ASSERT_EQ(dev::device_allow_list(true).size(), 1u);
  EXPECT_EQ(dev::to_string(dev::device_allow_list(true)[0]), "a *:* rwm");
}

TEST(Devices, ControlOpenWorksOutsideTheCgroup) {
  ASSERT_EQ(getuid(), 0u) << "needs root";
  Nodes n;
  EXPECT_TRUE(opens(n.disk, O_RDONLY)) << "without the allow-list, root can open the disk";
  EXPECT_TRUE(opens(n.kmsg, O_RDONLY));
}

TEST(Devices, V1DeniesBlockDeviceOpen) {
  if (!stdfs::exists(kV1Devices / "devices.allow")) GTEST_SKIP() << "no cgroup v1 devices controller";
  Nodes n;
  TempCgroup cg(kV1Devices);
  dev::apply_devices_v1(cg.path, dev::device_allow_list(false));
  std::string list = mctr::fs::read_file(cg.path / "devices.list");
  EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << list;
  EXPECT_NE(list.find("c 136:* rwm"), std::string::npos) << list;
  EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << list;
  EXPECT_EQ(run_in_child([&] { expect_restricted(cg.path, n); }), 0);
}

TEST(Devices, V1PrivilegedAllowsAll) {
  if (!stdfs::exists(kV1Devices / "devices.allow")) GTEST_SKIP() << "no cgroup v1 devices controller";
  Nodes n;
  TempCgroup cg(kV1Devices);
  dev::apply_devices_v1(cg.path, dev::device_allow_list(true));
  EXPECT_EQ(mctr::fs::trim(mctr::fs::read_file(cg.path / "devices.list")), "a *:* rwm");
  EXPECT_EQ(run_in_child([&] {
              join(cg.path);
              CHILD_CHECK(opens(n.disk, O_RDONLY));
            }),
            0);
}

TEST(Devices, BpfProgramPassesTheVerifier) {
  auto prog = dev::device_filter_program(dev::device_allow_list(false));
  EXPECT_GT(prog.size(), 12u);
  mctr::UniqueFd fd = dev::load_device_filter(dev::device_allow_list(false));
  EXPECT_TRUE(fd);
  mctr::UniqueFd all = dev::load_device_filter(dev::device_allow_list(true));
  EXPECT_TRUE(all);
  EXPECT_THROW(dev::device_filter_program({{'x', 1, 1, "rwm"}}), mctr::Error);
  EXPECT_THROW(dev::device_filter_program({{'c', 1, 1, "rwx"}}), mctr::Error);
}

TEST(Devices, V2BpfDeniesBlockDeviceOpen) {
  stdfs::path root = v2_root();
  if (root.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy";
  Nodes n;
  TempCgroup cg(root);
  dev::apply_devices_v2(cg.path, dev::device_allow_list(false));
  EXPECT_EQ(run_in_child([&] { expect_restricted(cg.path, n); }), 0);
}

TEST(Devices, V2PrivilegedAllowsAll) {
  stdfs::path root = v2_root();
  if (root.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy";
  Nodes n;
  TempCgroup cg(root);
  dev::apply_devices_v2(cg.path, dev::device_allow_list(true));
  EXPECT_EQ(run_in_child([&] {
              join(cg.path);
              CHILD_CHECK(opens(n.disk, O_RDONLY));
              CHILD_CHECK(opens(n.kmsg, O_RDONLY));
            }),
            0);
}

TEST(Devices, V2ReadOnlyRuleRefusesWrite) {
  stdfs::path root = v2_root();
  if (root.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy";
  Nodes n;
  TempCgroup cg(root);
  dev::apply_devices_v2(cg.path, {{'c', 1, 3, "r"}});
  EXPECT_EQ(run_in_child([&] {
              join(cg.path);
              CHILD_CHECK(opens(n.null, O_RDONLY));
              CHILD_CHECK(!opens(n.null, O_WRONLY) && errno == EPERM);
              CHILD_CHECK(!opens(n.disk, O_RDONLY) && errno == EPERM);
            }),
            0);
}
