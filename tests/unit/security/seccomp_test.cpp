// Seccomp: Docker's default profile loaded into a real child process, and
// profiles read from JSON.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include "linux/security/seccomp_profile.h"
#include "linux/security/security.h"
#include "security/child.h"
#include "util/error.h"
#include "util/fs.h"

namespace sec = mctr::security;

namespace {

// Every child gets its own mount and UTS namespace before the filter goes
// on, so a syscall the filter fails to block cannot touch the host.
void isolate() {
  CHILD_CHECK(unshare(CLONE_NEWNS | CLONE_NEWUTS) == 0);
  CHILD_CHECK(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
}

// "Seccomp:\t2" in /proc/self/status: 0 none, 2 filter.
int seccomp_mode() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Seccomp:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

bool fails_with(long rc, int err) { return rc == -1 && errno == err; }

// clone(2) straight through the syscall (glibc's wrapper wants a stack).
// A child that got created exits at once.
long raw_clone(unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return pid;
}

void apply(const sec::Options& o) {
  sec::set_no_new_privs();
  sec::apply_seccomp(o);
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    char p[] = "/tmp/mctr-seccomp-XXXXXX";
    int fd = mkstemp(p);
    if (fd < 0) throw std::runtime_error("mkstemp");
    close(fd);
    path = p;
    mctr::fs::write_file(path, text);
  }
  ~TempFile() { unlink(path.c_str()); }
};

bool rule_for(const std::vector<sec::SyscallRule>& rules, const std::string& name, bool with_args) {
  return std::any_of(rules.begin(), rules.end(), [&](const sec::SyscallRule& r) {
    return r.args.empty() != with_args && std::find(r.names.begin(), r.names.end(), name) != r.names.end();
  });
}

}  // namespace

TEST(Seccomp, DefaultProfileDeniesEscapes) {
  int rc = run_in_child([] {
    isolate();
    apply({});
    CHILD_CHECK(seccomp_mode() == 2);
    CHILD_CHECK(fails_with(unshare(CLONE_NEWNS), EPERM));
    CHILD_CHECK(fails_with(unshare(CLONE_NEWUSER), EPERM));
    CHILD_CHECK(fails_with(mount("none", "/mnt", "tmpfs", 0, nullptr), EPERM));
    CHILD_CHECK(fails_with(umount2("/proc", MNT_DETACH), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_add_key, "user", "x", "y", 1, KEY_SPEC_SESSION_KEYRING), EPERM));
    CHILD_CHECK(fails_with(raw_clone(CLONE_NEWUSER), EPERM));
    CHILD_CHECK(fails_with(raw_clone(CLONE_NEWNET), EPERM));
    CHILD_CHECK(fails_with(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0), EPERM));
    CHILD_CHECK(fails_with(sethostname("x", 1), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_bpf, 0, nullptr, 0), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_finit_module, -1, "", 0), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_kexec_load, 0, 0, nullptr, 0), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_setns, 0, 0), EPERM));
    CHILD_CHECK(fails_with(syscall(SYS_pivot_root, "/", "/"), EPERM));
    CHILD_CHECK(fails_with(personality(READ_IMPLIES_EXEC), EPERM));
    // clone3 answers ENOSYS, so libc falls back to clone.
    struct clone_args args;
    std::memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    CHILD_CHECK(fails_with(syscall(SYS_clone3, &args, sizeof args), ENOSYS));
  });
  EXPECT_EQ(rc, 0);
}

#if defined(__x86_64__)
// The x32 ABI is filtered only where the kernel has it (a shorter program);
// elsewhere an x32 syscall must still go nowhere: refused by the kernel or
// killed by the filter (SIGSYS), never run.
TEST(Seccomp, X32SyscallsNeverRunWithoutX32Kernel) {
  if (syscall(0x40000000 | SYS_getpid) != -1) GTEST_SKIP() << "this kernel runs x32 (Docker allows it)";
  int rc = run_in_child([] {
    isolate();
    apply({});
    long r = syscall(0x40000000 | SYS_getpid);
    CHILD_CHECK(r == -1);
  });
  EXPECT_TRUE(rc == 0 || rc == 128 + SIGSYS) << rc;
}
#endif

TEST(Seccomp, DefaultProfileAllowsOrdinaryWork) {
  int rc = run_in_child([] {
    isolate();
    apply({});
    CHILD_CHECK(getpid() > 0);
    CHILD_CHECK(personality(0xffffffff) != -1);  // query
    CHILD_CHECK(personality(PER_LINUX) != -1);
    CHILD_CHECK(raw_clone(0) > 0);  // plain fork-like clone
    pid_t pid = fork();
    CHILD_CHECK(pid >= 0);
    if (pid == 0) _exit(7);
    int status = 0;
    CHILD_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHILD_CHECK(fd >= 0);
    close(fd);
    CHILD_CHECK(mkdir("/tmp", 0755) == -1 && errno == EEXIST);  // mkdir reaches the kernel
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, SysAdminCapabilityReallowsMountFamily) {
  int rc = run_in_child([] {
    isolate();
    sec::Options o;
    o.cap_add = {"SYS_ADMIN"};
    apply(o);
    CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
    CHILD_CHECK(mount("none", "/mnt", "tmpfs", 0, nullptr) == 0);
    CHILD_CHECK(umount2("/mnt", 0) == 0);
    CHILD_CHECK(raw_clone(CLONE_NEWUTS) > 0);
    CHILD_CHECK(sethostname("x", 1) == 0);
    // keyctl is not in Docker's list at all, whatever the capabilities.
    CHILD_CHECK(fails_with(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM));
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, DroppedCapabilityRemovesItsSyscalls) {
  // SYS_CHROOT is a default capability; dropping it denies chroot(2).
  int rc = run_in_child([] {
    isolate();
    sec::Options o;
    o.cap_drop = {"SYS_CHROOT"};
    apply(o);
    CHILD_CHECK(fails_with(chroot("/"), EPERM));
  });
  EXPECT_EQ(rc, 0);
  rc = run_in_child([] {
    isolate();
    apply({});
    CHILD_CHECK(chroot("/") == 0);
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, UnconfinedAndPrivilegedLoadNothing) {
  for (bool privileged : {false, true}) {
    int rc = run_in_child([&] {
      isolate();
      sec::Options o;
      if (privileged)
        o.privileged = true;
      else
        o.seccomp = "unconfined";
      apply(o);
      CHILD_CHECK(seccomp_mode() == 0);
      CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
      CHILD_CHECK(
          !fails_with(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM));
    });
    EXPECT_EQ(rc, 0) << "privileged=" << privileged;
  }
}

TEST(Seccomp, JsonProfileBlocksMkdir) {
  TempFile profile(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [
      {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
    ]})");
  sec::Options o;
  o.seccomp = profile.path;
  sec::read_seccomp_profile(o);  // host side: file read before pivot_root
  ASSERT_FALSE(o.seccomp_profile_json.empty());
  int rc = run_in_child([&] {
    isolate();
    apply(o);
    CHILD_CHECK(seccomp_mode() == 2);
    CHILD_CHECK(fails_with(mkdir("/tmp/mctr-never", 0755), EACCES));
    CHILD_CHECK(fails_with(mkdirat(AT_FDCWD, "/tmp/mctr-never", 0755), EACCES));
    CHILD_CHECK(fails_with(personality(PER_LINUX32), EPERM));  // errnoRet defaults to EPERM
    CHILD_CHECK(personality(PER_LINUX) != -1);
    CHILD_CHECK(unshare(CLONE_NEWNS) == 0);  // default action: allow
  });
  EXPECT_EQ(rc, 0);
}

TEST(Seccomp, JsonIncludesCapsFollowDocker) {
  auto p = sec::parse_profile_json(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
      {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
       "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
      {"names": ["old"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
      {"names": ["amd64only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}}
    ]})");
#if defined(__x86_64__)
  EXPECT_EQ(p.architectures, (std::vector<std::string>{"x86_64", "x86", "x32"}));
#endif
  auto plain = sec::applicable_rules(p, sec::default_capabilities());
  EXPECT_FALSE(rule_for(plain, "mount", false));
  EXPECT_TRUE(rule_for(plain, "clone", true));
  EXPECT_FALSE(rule_for(plain, "old", false));
#if defined(__x86_64__)
  EXPECT_TRUE(rule_for(plain, "amd64only", false));
#endif
  auto admin = sec::applicable_rules(p, {"SYS_ADMIN"});
  EXPECT_TRUE(rule_for(admin, "mount", false));
  EXPECT_FALSE(rule_for(admin, "clone", true));
}

TEST(Seccomp, DefaultTableMatchesDockerShape) {
  auto p = sec::docker_default_profile();
  EXPECT_EQ(p.default_action, sec::Action::Errno);
  EXPECT_EQ(p.default_errno, EPERM);
  auto plain = sec::applicable_rules(p, sec::default_capabilities());
  for (const char* denied : {"mount", "umount2", "unshare", "setns", "bpf", "init_module", "finit_module",
                             "delete_module", "keyctl", "add_key", "request_key", "kexec_load", "reboot",
                             "swapon", "acct", "pivot_root", "open_by_handle_at"})
    EXPECT_FALSE(rule_for(plain, denied, false) || rule_for(plain, denied, true)) << denied;
  EXPECT_TRUE(rule_for(plain, "clone", true));
  EXPECT_TRUE(rule_for(plain, "socket", true));
  EXPECT_TRUE(rule_for(plain, "chroot", false));  // SYS_CHROOT is a default capability
  EXPECT_TRUE(rule_for(plain, "ptrace", false));  // kernel >= 4.8
  auto all = sec::applicable_rules(p, sec::all_capabilities());
  for (const char* allowed : {"mount", "unshare", "setns", "bpf", "finit_module", "reboot", "clone"})
    EXPECT_TRUE(rule_for(all, allowed, false)) << allowed;
  EXPECT_FALSE(rule_for(all, "clone", true));
}

TEST(Seccomp, MalformedProfilesAreOneLineErrors) {
  const char* bad[] = {
      "{ not json",
      "[]",
      R"({"syscalls": []})",
      R"({"defaultAction": "SCMP_ACT_MAYBE"})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"]}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]})",
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [1], "action": "SCMP_ACT_ALLOW"}]})",
  };
  for (const char* text : bad) {
    try {
      sec::parse_profile_json(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const mctr::Error& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find("seccomp profile"), std::string::npos) << msg;
    }
  }
  TempFile file("{\"defaultAction\": 3}");
  sec::Options o;
  o.seccomp = file.path;
  try {
    sec::read_seccomp_profile(o);
    ADD_FAILURE() << "accepted a bad file";
  } catch (const mctr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("defaultAction"), std::string::npos) << e.what();
  }
  o.seccomp = "/nonexistent/profile.json";
  EXPECT_THROW(sec::read_seccomp_profile(o), mctr::SysError);
}

TEST(Seccomp, WithoutNoNewPrivsLoadBeforeDroppingCaps) {
  // After the capability drop (no CAP_SYS_ADMIN) and without no_new_privs
  // the kernel refuses the filter: a clear error says what to do.
  int rc = run_in_child([] {
    isolate();
    sec::drop_capabilities(sec::default_capabilities());
    try {
      sec::apply_seccomp({});
      CHILD_CHECK(!"the kernel accepted a filter without no_new_privs or CAP_SYS_ADMIN");
    } catch (const mctr::Error& e) {
      CHILD_CHECK(std::string(e.what()).find("no_new_privs") != std::string::npos);
    }
  });
  EXPECT_EQ(rc, 0);
  // The working order: filter first (still holding CAP_SYS_ADMIN), then the
  // drop, which the default profile allows (capset, prctl).
  rc = run_in_child([] {
    isolate();
    sec::apply_seccomp({});
    sec::drop_capabilities(sec::default_capabilities());
    CHILD_CHECK(seccomp_mode() == 2);
    CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
    CHILD_CHECK(fails_with(unshare(CLONE_NEWNS), EPERM));
  });
  EXPECT_EQ(rc, 0);
}
