// cgroup v2's "no internal processes" rule, for real (runs in the test VM;
// skipped on v1 hosts). When minictr runs inside a container, its
// /sys/fs/cgroup is a group that already holds processes, and writing
// cgroup.subtree_control there fails with EBUSY: the manager must move those
// processes into a leaf and retry, and its --explain line must do the same
// when replayed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "linux/cgroup/common.h"
#include "linux/cgroup/detect.h"
#include "linux/cgroup/manager.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace fsys = std::filesystem;
using namespace mctr::cgroup;

namespace {

// The --explain line that hands the controllers down from `top`, without its
// "[explain] write(2)" prefix and its comment; empty if there is none.
std::string handing_down_line(const std::string& trace, const fsys::path& top) {
  std::istringstream in(trace);
  const std::string target = " > " + (top / "cgroup.subtree_control").string();
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("[explain] write(2)", 0) != 0 || line.find(target) == std::string::npos) continue;
    line.erase(0, line.find("echo "));
    if (auto comment = line.find("   # "); comment != std::string::npos) line.erase(comment);
    return line;
  }
  return {};
}

// The namespace's root as it was before create(): processes in it, nothing
// handed down, no leaf.
void undo_delegation(const fsys::path& root) {
  ::rmdir((root / "minictr").c_str());
  std::string off;
  std::istringstream enabled(mctr::fs::read_file(root / "cgroup.subtree_control"));
  for (std::string c; enabled >> c;) off += "-" + c + " ";
  if (!off.empty()) std::ofstream(root / "cgroup.subtree_control") << off << std::flush;
  std::ofstream(root / "cgroup.procs") << ::getpid() << std::flush;
  mctr::check_sys(::rmdir((root / "init").c_str()), "rmdir", root / "init");
}

// In the child: become the only process of `nsroot`, make it the root of a
// new cgroup namespace, mount cgroup2 (in a private mount namespace) and use
// the manager there as if it were a whole host.
[[noreturn]] void run_inside(const fsys::path& nsroot, const fsys::path& root) {
  try {
    std::ofstream(nsroot / "cgroup.procs") << ::getpid() << std::flush;
    mctr::check_sys(::unshare(CLONE_NEWCGROUP | CLONE_NEWNS), "unshare");
    mctr::check_sys(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "mount", "/");
    // A second mount on top of /sys/fs/cgroup would be EBUSY (same superblock), so
    // the namespace's view goes to a temp dir, which is also the manager's root.
    mctr::check_sys(::mount("cgroup2", root.c_str(), "cgroup2", 0, nullptr), "mount", root);
    auto m = make_manager("c1", root);
    if (m->version() != mctr::cgroup::Version::kV2) ::_exit(3);
    const fsys::path trace_file = root.parent_path() / (root.filename().string() + ".trace");
    mctr::explain::enable(::open(trace_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    m->create();  // EBUSY on subtree_control -> move into a leaf -> retry
    mctr::explain::enable(-1);
    const std::string trace = mctr::fs::read_file(trace_file);
    fsys::remove(trace_file);
    Resources r;
    r.memory = 32 << 20;
    r.pids_limit = 10;
    m->apply(r);
    m->add_pid(::getpid());
    if (m->stats().pids_current != 1) ::_exit(5);
    std::ofstream(root / "init" / "cgroup.procs") << ::getpid() << std::flush;
    m->destroy();
    // The trace's line for the namespace's root, replayed on the root as
    // create() found it (a plain write would fail with EBUSY there).
    const std::string line = handing_down_line(trace, root);
    if (line.find("|| {") == std::string::npos) {
      std::fprintf(stderr, "no fallback in the trace's line for %s:\n%s\n", root.c_str(), trace.c_str());
      ::_exit(6);
    }
    undo_delegation(root);
    if (mctr::ProcessResult r = mctr::run_process({"sh", "-ec", line}); r.status != 0) {
      std::fprintf(stderr, "replaying `%s`: status %d: %s\n", line.c_str(), r.status, r.err.c_str());
      ::_exit(7);
    }
    if (mctr::fs::read_file(root / "init" / "cgroup.procs").find(std::to_string(::getpid())) ==
        std::string::npos)
      ::_exit(8);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "in the cgroup namespace: %s\n", e.what());
    ::_exit(4);
  }
  ::_exit(0);
}

}  // namespace

TEST(CgroupV2Delegation, MovesProcessesToLeafOnEbusy) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  HostLayout h = detect_layout();
  if (h.layout != Layout::kUnified) GTEST_SKIP() << "pure cgroup v2 only (see tests/vm)";
  fsys::path nsroot = h.unified / ("test-nsroot-" + std::to_string(::getpid()));
  fsys::create_directory(nsroot);
  struct Cleanup {
    fsys::path p;
    ~Cleanup() { detail::remove_group_tree(p); }
  } cleanup{nsroot};
  fsys::path mnt = fsys::temp_directory_path() / ("mctr-cgroupns-" + std::to_string(::getpid()));
  fsys::create_directory(mnt);
  struct RemoveDir {
    fsys::path p;
    ~RemoveDir() { fsys::remove(p); }
  } remove_mnt{mnt};

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) run_inside(nsroot, mnt);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // What the manager did inside: processes went to a leaf, controllers were enabled.
  EXPECT_TRUE(fsys::is_directory(nsroot / "init"));
  std::ifstream sc(nsroot / "cgroup.subtree_control");
  std::string controllers((std::istreambuf_iterator<char>(sc)), {});
  EXPECT_NE(controllers.find("memory"), std::string::npos) << controllers;
  EXPECT_NE(controllers.find("pids"), std::string::npos) << controllers;
  EXPECT_FALSE(fsys::exists(nsroot / "minictr" / "c1"));
}
