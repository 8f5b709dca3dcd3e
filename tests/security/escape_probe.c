/* escape_probe: one small, static program the escape suite copies into a
 * container (bind mount) to try the system calls busybox has no applet for,
 * or where busybox's error would hide the errno.
 *
 *   escape_probe keyctl                 read the session keyring's id
 *   escape_probe unshare NS...          unshare(2) with mnt|uts|ipc|user|pid|net|cgroup
 *   escape_probe clone NS...            clone(2) with those namespace flags
 *   escape_probe mount DIR              mount a tmpfs on DIR (and unmount it)
 *   escape_probe kmod                   finit_module(2) of an empty file
 *   escape_probe ptrace-child           fork, PTRACE_ATTACH to the child, detach
 *   escape_probe ptrace PID             PTRACE_ATTACH to PID, detach
 *   escape_probe mknod-open MAJ MIN P   mknod a block device node P, then open it
 *   escape_probe open-w PATH            open PATH for writing (writes nothing)
 *   escape_probe read PATH              read PATH, print the byte count
 *   escape_probe vsock                  socket(AF_VSOCK)
 *   escape_probe connect IP PORT        TCP connect, 2 s timeout
 *   escape_probe io_uring               io_uring_setup(2) of a 4-entry ring
 *
 * Prints "ok" or "<call>: <strerror>" and exits 0 when the kernel let the
 * attempt through, 1 when it was refused. For kmod and vsock, "let through"
 * means any answer but EPERM (no module is ever loaded; no vsock host needed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING -3

static int refused(const char* what) {
  printf("%s: %s\n", what, strerror(errno));
  return 1;
}

static int ok(void) {
  printf("ok\n");
  return 0;
}

static int ns_flags(int argc, char** argv) {
  static const struct {
    const char* name;
    int flag;
  } names[] = {{"mnt", CLONE_NEWNS},       {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
               {"user", CLONE_NEWUSER},    {"pid", CLONE_NEWPID}, {"net", CLONE_NEWNET},
               {"cgroup", CLONE_NEWCGROUP}};
  int flags = 0;
  for (int i = 0; i < argc; i++) {
    size_t j;
    for (j = 0; j < sizeof names / sizeof names[0]; j++)
      if (strcmp(argv[i], names[j].name) == 0) break;
    if (j == sizeof names / sizeof names[0]) {
      fprintf(stderr, "unknown namespace %s\n", argv[i]);
      exit(2);
    }
    flags |= names[j].flag;
  }
  return flags;
}

static int do_clone(int flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return refused("clone");
  if (pid == 0) _exit(0);
  waitpid((pid_t)pid, NULL, 0);
  return ok();
}

static int do_mount(const char* dir) {
  if (mount("none", dir, "tmpfs", 0, "size=1m") != 0) return refused("mount");
  umount2(dir, MNT_DETACH);
  return ok();
}

static int do_kmod(void) {
  char path[] = "/tmp/escape-probe-module-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return refused("mkstemp");
  unlink(path);
  long rc = syscall(SYS_finit_module, fd, "", 0);
  close(fd);
  if (rc == 0) return ok(); /* cannot happen: the file is empty */
  if (errno == EPERM) return refused("finit_module");
  printf("finit_module reached the loader: %s\n", strerror(errno));
  return 0;
}

static int attach(pid_t pid) {
  if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0) return refused("ptrace(PTRACE_ATTACH)");
  waitpid(pid, NULL, __WALL);
  ptrace(PTRACE_DETACH, pid, 0, 0);
  return ok();
}

static int do_ptrace_child(void) {
  pid_t child = fork();
  if (child < 0) return refused("fork");
  if (child == 0) {
    pause();
    _exit(0);
  }
  int rc = attach(child);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  return rc;
}

static int do_mknod_open(const char* maj, const char* min, const char* path) {
  if (mknod(path, S_IFBLK | 0600, makedev(atoi(maj), atoi(min))) != 0) {
    refused("mknod");
    return 2;
  }
  int fd = open(path, O_RDONLY);
  int err = errno;
  unlink(path);
  errno = err;
  if (fd < 0) return refused("open");
  close(fd);
  return ok();
}

static int do_read(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return refused("open");
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) return refused("read");
  printf("%zd\n", n);
  return 0;
}

static int do_vsock(void) {
  int fd = socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (fd >= 0) {
    close(fd);
    return ok();
  }
  if (errno == EPERM) return refused("socket(AF_VSOCK)");
  printf("socket(AF_VSOCK) reached the kernel: %s\n", strerror(errno));
  return 0;
}

static int do_connect(const char* ip, const char* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return refused("socket");
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
  inet_pton(AF_INET, ip, &a.sin_addr);
  int rc = connect(fd, (struct sockaddr*)&a, sizeof a);
  close(fd);
  return rc == 0 ? ok() : refused("connect");
}

/* io_uring_setup(2): its operations bypass seccomp, so Docker's profile
 * (25.0+) refuses it. Any answer but EPERM means the filter let it through. */
static int do_io_uring(void) {
  unsigned char params[120]; /* struct io_uring_params, zeroed: the defaults */
  memset(params, 0, sizeof params);
  long fd = syscall(SYS_io_uring_setup, 4, params);
  if (fd >= 0) {
    close((int)fd);
    return ok();
  }
  if (errno == EPERM) return refused("io_uring_setup");
  printf("io_uring_setup reached the kernel: %s\n", strerror(errno));
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: escape_probe COMMAND [ARGS]\n");
    return 2;
  }
  const char* cmd = argv[1];
  if (!strcmp(cmd, "keyctl"))
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1) >= 0 ? ok()
                                                                                        : refused("keyctl");
  if (!strcmp(cmd, "unshare")) return unshare(ns_flags(argc - 2, argv + 2)) == 0 ? ok() : refused("unshare");
  if (!strcmp(cmd, "clone")) return do_clone(ns_flags(argc - 2, argv + 2));
  if (!strcmp(cmd, "mount") && argc == 3) return do_mount(argv[2]);
  if (!strcmp(cmd, "kmod")) return do_kmod();
  if (!strcmp(cmd, "ptrace-child")) return do_ptrace_child();
  if (!strcmp(cmd, "ptrace") && argc == 3) return attach(atoi(argv[2]));
  if (!strcmp(cmd, "mknod-open") && argc == 5) return do_mknod_open(argv[2], argv[3], argv[4]);
  if (!strcmp(cmd, "open-w") && argc == 3) {
    int fd = open(argv[2], O_WRONLY);
    if (fd < 0) return refused("open");
    close(fd);
    return ok();
  }
  if (!strcmp(cmd, "read") && argc == 3) return do_read(argv[2]);
  if (!strcmp(cmd, "vsock")) return do_vsock();
  if (!strcmp(cmd, "connect") && argc == 4) return do_connect(argv[2], argv[3]);
  if (!strcmp(cmd, "io_uring")) return do_io_uring();
  fprintf(stderr, "escape_probe: unknown command or arguments: %s\n", cmd);
  return 2;
}
