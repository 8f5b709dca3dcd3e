// Docker's default seccomp profile, as a table.
//
// Source: moby profiles/seccomp/default.json. It is an allowlist: any
// syscall not listed fails with EPERM. Some syscalls are allowed only with
// an argument check (clone without namespace flags, personality with a few
// values, socket without AF_VSOCK) or only when the container keeps the
// capability that would make them useful (mount needs CAP_SYS_ADMIN, ...).
// Syscalls such as keyctl, add_key, request_key, kexec_load, userfaultfd,
// open_by_handle_at (without CAP_DAC_READ_SEARCH) are simply absent.
// So are io_uring_setup, io_uring_enter and io_uring_register (Docker 25.0
// removed them): the operations a ring submits (openat, connect, send, ...)
// run in the kernel without passing through this filter, so no rule here or
// in a custom profile could refuse them; and io_uring has been a steady
// source of kernel privilege escalations.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "linux/security/seccomp_profile.h"

namespace mctr::security {

namespace {

// Allowed for every container. Plain C strings: a std::vector<std::string>
// here would be built (~350 allocations) at the start of every minictr
// command, whether or not it starts a container.
constexpr const char* kAlwaysAllowed[] = {"accept",
                                          "accept4",
                                          "access",
                                          "adjtimex",
                                          "alarm",
                                          "bind",
                                          "brk",
                                          "capget",
                                          "capset",
                                          "chdir",
                                          "chmod",
                                          "chown",
                                          "chown32",
                                          "clock_adjtime",
                                          "clock_adjtime64",
                                          "clock_getres",
                                          "clock_getres_time64",
                                          "clock_gettime",
                                          "clock_gettime64",
                                          "clock_nanosleep",
                                          "clock_nanosleep_time64",
                                          "close",
                                          "close_range",
                                          "connect",
                                          "copy_file_range",
                                          "creat",
                                          "dup",
                                          "dup2",
                                          "dup3",
                                          "epoll_create",
                                          "epoll_create1",
                                          "epoll_ctl",
                                          "epoll_ctl_old",
                                          "epoll_pwait",
                                          "epoll_pwait2",
                                          "epoll_wait",
                                          "epoll_wait_old",
                                          "eventfd",
                                          "eventfd2",
                                          "execve",
                                          "execveat",
                                          "exit",
                                          "exit_group",
                                          "faccessat",
                                          "faccessat2",
                                          "fadvise64",
                                          "fadvise64_64",
                                          "fallocate",
                                          "fanotify_mark",
                                          "fchdir",
                                          "fchmod",
                                          "fchmodat",
                                          "fchown",
                                          "fchown32",
                                          "fchownat",
                                          "fcntl",
                                          "fcntl64",
                                          "fdatasync",
                                          "fgetxattr",
                                          "flistxattr",
                                          "flock",
                                          "fork",
                                          "fremovexattr",
                                          "fsetxattr",
                                          "fstat",
                                          "fstat64",
                                          "fstatat64",
                                          "fstatfs",
                                          "fstatfs64",
                                          "fsync",
                                          "ftruncate",
                                          "ftruncate64",
                                          "futex",
                                          "futex_time64",
                                          "futex_waitv",
                                          "futimesat",
                                          "getcpu",
                                          "getcwd",
                                          "getdents",
                                          "getdents64",
                                          "getegid",
                                          "getegid32",
                                          "geteuid",
                                          "geteuid32",
                                          "getgid",
                                          "getgid32",
                                          "getgroups",
                                          "getgroups32",
                                          "getitimer",
                                          "getpeername",
                                          "getpgid",
                                          "getpgrp",
                                          "getpid",
                                          "getppid",
                                          "getpriority",
                                          "getrandom",
                                          "getresgid",
                                          "getresgid32",
                                          "getresuid",
                                          "getresuid32",
                                          "getrlimit",
                                          "get_robust_list",
                                          "getrusage",
                                          "getsid",
                                          "getsockname",
                                          "getsockopt",
                                          "get_thread_area",
                                          "gettid",
                                          "gettimeofday",
                                          "getuid",
                                          "getuid32",
                                          "getxattr",
                                          "inotify_add_watch",
                                          "inotify_init",
                                          "inotify_init1",
                                          "inotify_rm_watch",
                                          "io_cancel",
                                          "ioctl",
                                          "io_destroy",
                                          "io_getevents",
                                          "io_pgetevents",
                                          "io_pgetevents_time64",
                                          "ioprio_get",
                                          "ioprio_set",
                                          "io_setup",
                                          "io_submit",
                                          "ipc",
                                          "kill",
                                          "landlock_add_rule",
                                          "landlock_create_ruleset",
                                          "landlock_restrict_self",
                                          "lchown",
                                          "lchown32",
                                          "lgetxattr",
                                          "link",
                                          "linkat",
                                          "listen",
                                          "listxattr",
                                          "llistxattr",
                                          "_llseek",
                                          "lremovexattr",
                                          "lseek",
                                          "lsetxattr",
                                          "lstat",
                                          "lstat64",
                                          "madvise",
                                          "membarrier",
                                          "memfd_create",
                                          "memfd_secret",
                                          "mincore",
                                          "mkdir",
                                          "mkdirat",
                                          "mknod",
                                          "mknodat",
                                          "mlock",
                                          "mlock2",
                                          "mlockall",
                                          "mmap",
                                          "mmap2",
                                          "mprotect",
                                          "mq_getsetattr",
                                          "mq_notify",
                                          "mq_open",
                                          "mq_timedreceive",
                                          "mq_timedreceive_time64",
                                          "mq_timedsend",
                                          "mq_timedsend_time64",
                                          "mq_unlink",
                                          "mremap",
                                          "msgctl",
                                          "msgget",
                                          "msgrcv",
                                          "msgsnd",
                                          "msync",
                                          "munlock",
                                          "munlockall",
                                          "munmap",
                                          "name_to_handle_at",
                                          "nanosleep",
                                          "newfstatat",
                                          "_newselect",
                                          "open",
                                          "openat",
                                          "openat2",
                                          "pause",
                                          "pidfd_open",
                                          "pidfd_send_signal",
                                          "pipe",
                                          "pipe2",
                                          "pkey_alloc",
                                          "pkey_free",
                                          "pkey_mprotect",
                                          "poll",
                                          "ppoll",
                                          "ppoll_time64",
                                          "prctl",
                                          "pread64",
                                          "preadv",
                                          "preadv2",
                                          "prlimit64",
                                          "process_mrelease",
                                          "pselect6",
                                          "pselect6_time64",
                                          "pwrite64",
                                          "pwritev",
                                          "pwritev2",
                                          "read",
                                          "readahead",
                                          "readlink",
                                          "readlinkat",
                                          "readv",
                                          "recv",
                                          "recvfrom",
                                          "recvmmsg",
                                          "recvmmsg_time64",
                                          "recvmsg",
                                          "remap_file_pages",
                                          "removexattr",
                                          "rename",
                                          "renameat",
                                          "renameat2",
                                          "restart_syscall",
                                          "rmdir",
                                          "rseq",
                                          "rt_sigaction",
                                          "rt_sigpending",
                                          "rt_sigprocmask",
                                          "rt_sigqueueinfo",
                                          "rt_sigreturn",
                                          "rt_sigsuspend",
                                          "rt_sigtimedwait",
                                          "rt_sigtimedwait_time64",
                                          "rt_tgsigqueueinfo",
                                          "sched_getaffinity",
                                          "sched_getattr",
                                          "sched_getparam",
                                          "sched_get_priority_max",
                                          "sched_get_priority_min",
                                          "sched_getscheduler",
                                          "sched_rr_get_interval",
                                          "sched_rr_get_interval_time64",
                                          "sched_setaffinity",
                                          "sched_setattr",
                                          "sched_setparam",
                                          "sched_setscheduler",
                                          "sched_yield",
                                          "seccomp",
                                          "select",
                                          "semctl",
                                          "semget",
                                          "semop",
                                          "semtimedop",
                                          "semtimedop_time64",
                                          "send",
                                          "sendfile",
                                          "sendfile64",
                                          "sendmmsg",
                                          "sendmsg",
                                          "sendto",
                                          "setfsgid",
                                          "setfsgid32",
                                          "setfsuid",
                                          "setfsuid32",
                                          "setgid",
                                          "setgid32",
                                          "setgroups",
                                          "setgroups32",
                                          "setitimer",
                                          "setpgid",
                                          "setpriority",
                                          "setregid",
                                          "setregid32",
                                          "setresgid",
                                          "setresgid32",
                                          "setresuid",
                                          "setresuid32",
                                          "setreuid",
                                          "setreuid32",
                                          "setrlimit",
                                          "set_robust_list",
                                          "setsid",
                                          "setsockopt",
                                          "set_thread_area",
                                          "set_tid_address",
                                          "setuid",
                                          "setuid32",
                                          "setxattr",
                                          "shmat",
                                          "shmctl",
                                          "shmdt",
                                          "shmget",
                                          "shutdown",
                                          "sigaltstack",
                                          "signalfd",
                                          "signalfd4",
                                          "sigprocmask",
                                          "sigreturn",
                                          "socketcall",
                                          "socketpair",
                                          "splice",
                                          "stat",
                                          "stat64",
                                          "statfs",
                                          "statfs64",
                                          "statx",
                                          "symlink",
                                          "symlinkat",
                                          "sync",
                                          "sync_file_range",
                                          "syncfs",
                                          "sysinfo",
                                          "tee",
                                          "tgkill",
                                          "time",
                                          "timer_create",
                                          "timer_delete",
                                          "timer_getoverrun",
                                          "timer_gettime",
                                          "timer_gettime64",
                                          "timer_settime",
                                          "timer_settime64",
                                          "timerfd_create",
                                          "timerfd_gettime",
                                          "timerfd_gettime64",
                                          "timerfd_settime",
                                          "timerfd_settime64",
                                          "times",
                                          "tkill",
                                          "truncate",
                                          "truncate64",
                                          "ugetrlimit",
                                          "umask",
                                          "uname",
                                          "unlink",
                                          "unlinkat",
                                          "utime",
                                          "utimensat",
                                          "utimensat_time64",
                                          "utimes",
                                          "vfork",
                                          "vmsplice",
                                          "wait4",
                                          "waitid",
                                          "waitpid",
                                          "write",
                                          "writev"};

// The clone flags that create namespaces: CLONE_NEWNS | NEWUTS | NEWIPC |
// NEWUSER | NEWPID | NEWNET | NEWCGROUP = 0x7E020000. clone is allowed when
// (flags & mask) == 0, i.e. the caller creates no namespace.
constexpr uint64_t kNamespaceFlags = 0x7E020000;

constexpr int kENOSYS = 38;

SyscallRule allow(std::vector<std::string> names) {
  return {std::move(names), Action::Allow, -1, {}, {}, {}};
}

SyscallRule allow_with_cap(std::vector<std::string> names, std::string cap) {
  SyscallRule r = allow(std::move(names));
  r.includes.caps = {std::move(cap)};
  return r;
}

SyscallRule allow_on_arches(std::vector<std::string> names, std::vector<std::string> arches) {
  SyscallRule r = allow(std::move(names));
  r.includes.arches = std::move(arches);
  return r;
}

SyscallRule allow_if_arg0_equals(std::string name, uint64_t value) {
  SyscallRule r = allow({std::move(name)});
  r.args = {{0, value, 0, Op::Equal}};
  return r;
}

}  // namespace

#if defined(__x86_64__)
// Does this kernel run x32 programs? Most distribution kernels are built
// without the x32 ABI (or boot with it off); an x32 syscall (the number
// with bit 30 set) then fails with ENOSYS.
static bool kernel_has_x32() {
  long r = ::syscall(0x40000000 | SYS_getpid);
  return !(r == -1 && errno == ENOSYS);
}
#endif

// Go's names for this machine's architecture (used in includes/excludes).
// x32 only when the kernel has it: without it the filter rejects x32
// syscalls anyway, and the program is 30% shorter (1227 -> 855 BPF
// instructions for this profile, ~70 us less to load at every start).
std::vector<std::string> native_libseccomp_arches() {
#if defined(__x86_64__)
  if (!kernel_has_x32()) return {"x86_64", "x86"};
  return {"x86_64", "x86", "x32"};
#elif defined(__aarch64__)
  return {"aarch64", "arm"};
#elif defined(__s390x__)
  return {"s390x", "s390"};
#else
  return {};  // let libseccomp use the native architecture only
#endif
}

Profile docker_default_profile() {
  Profile p;
  p.default_action = Action::Errno;
  p.default_errno = 1;  // EPERM
  p.architectures = native_libseccomp_arches();

  auto& s = p.syscalls;
  s.push_back(allow({std::begin(kAlwaysAllowed), std::end(kAlwaysAllowed)}));

  // ptrace is safe without CAP_SYS_PTRACE since Linux 4.8 (seccomp is
  // re-checked after a tracer changes the syscall).
  SyscallRule ptrace = allow({"process_vm_readv", "process_vm_writev", "ptrace"});
  ptrace.includes.min_kernel = "4.8";
  s.push_back(ptrace);

  // socket(2) for every address family except AF_VSOCK (40).
  SyscallRule socket = allow({"socket"});
  socket.args = {{0, 40, 0, Op::NotEqual}};
  s.push_back(socket);

  // personality(2) only with PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, or the query 0xffffffff.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    s.push_back(allow_if_arg0_equals("personality", persona));

  s.push_back(allow_on_arches({"sync_file_range2", "swapcontext"}, {"ppc64le"}));
  s.push_back(allow_on_arches(
      {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"},
      {"arm", "arm64"}));
  s.push_back(allow_on_arches({"arch_prctl"}, {"amd64", "x32"}));
  s.push_back(allow_on_arches({"modify_ldt"}, {"amd64", "x32", "x86"}));
  s.push_back(allow_on_arches({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
                              {"s390", "s390x"}));
  s.push_back(allow_on_arches({"riscv_flush_icache"}, {"riscv64"}));

  // Syscalls that only make sense with a capability the container keeps.
  s.push_back(allow_with_cap({"open_by_handle_at"}, "CAP_DAC_READ_SEARCH"));
  s.push_back(allow_with_cap(
      {"bpf",       "clone",           "clone3",         "fanotify_init", "fsconfig",      "fsmount",
       "fsopen",    "fspick",          "lookup_dcookie", "mount",         "mount_setattr", "move_mount",
       "open_tree", "perf_event_open", "quotactl",       "quotactl_fd",   "setdomainname", "sethostname",
       "setns",     "syslog",          "umount",         "umount2",       "unshare"},
      "CAP_SYS_ADMIN"));

  // Without CAP_SYS_ADMIN: clone only when it creates no namespace (s390
  // passes the flags as the second argument).
  SyscallRule clone = allow({"clone"});
  clone.args = {{0, kNamespaceFlags, 0, Op::MaskedEqual}};
  clone.excludes.caps = {"CAP_SYS_ADMIN"};
  clone.excludes.arches = {"s390", "s390x"};
  s.push_back(clone);
  SyscallRule clone_s390 = allow({"clone"});
  clone_s390.args = {{1, kNamespaceFlags, 0, Op::MaskedEqual}};
  clone_s390.includes.arches = {"s390", "s390x"};
  clone_s390.excludes.caps = {"CAP_SYS_ADMIN"};
  s.push_back(clone_s390);

  // clone3 passes its flags in a struct seccomp cannot read: answer ENOSYS
  // so libc falls back to clone, whose flags the rule above checks.
  SyscallRule clone3{{"clone3"}, Action::Errno, kENOSYS, {}, {}, {}};
  clone3.excludes.caps = {"CAP_SYS_ADMIN"};
  s.push_back(clone3);

  s.push_back(allow_with_cap({"reboot"}, "CAP_SYS_BOOT"));
  s.push_back(allow_with_cap({"chroot"}, "CAP_SYS_CHROOT"));
  s.push_back(allow_with_cap({"delete_module", "init_module", "finit_module"}, "CAP_SYS_MODULE"));
  s.push_back(allow_with_cap({"acct"}, "CAP_SYS_PACCT"));
  s.push_back(allow_with_cap(
      {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
      "CAP_SYS_PTRACE"));
  s.push_back(allow_with_cap({"iopl", "ioperm"}, "CAP_SYS_RAWIO"));
  s.push_back(allow_with_cap({"settimeofday", "stime", "clock_settime", "clock_settime64"}, "CAP_SYS_TIME"));
  s.push_back(allow_with_cap({"vhangup"}, "CAP_SYS_TTY_CONFIG"));
  s.push_back(
      allow_with_cap({"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}, "CAP_SYS_NICE"));
  s.push_back(allow_with_cap({"syslog"}, "CAP_SYSLOG"));
  s.push_back(allow_with_cap({"bpf"}, "CAP_BPF"));
  s.push_back(allow_with_cap({"perf_event_open"}, "CAP_PERFMON"));
  return p;
}

}  // namespace mctr::security
