/* minictr-init: the init `run --init` puts in front of the command, as
 * Docker does with tini (bind-mounted read-only at /sbin/docker-init).
 *
 * A process that is PID 1 of its namespace gets no signal the kernel would
 * act on by default: a SIGTERM it has no handler for is simply dropped, so
 * `stop` waits its whole timeout and then SIGKILLs. And orphans are
 * re-parented to PID 1, which must reap them or they stay zombies. So:
 *
 *   1. block every signal, fork the command (with the signals restored);
 *   2. wait for signals: SIGCHLD -> reap every child that has exited;
 *      anything else -> pass it on to the command;
 *   3. when the command exits, exit with its code (128 + N if killed by N).
 *
 * Static (no libc.so in scratch images), no dependency but libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--] COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  /* Not PID 1 (e.g. --pid host): still adopt the command's orphans. */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigset_t all, original;
  sigfillset(&all);
  /* Faults are the init's own business, never queued for sigwait. */
  int synchronous[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS};
  for (size_t i = 0; i < sizeof synchronous / sizeof *synchronous; ++i) sigdelset(&all, synchronous[i]);
  sigprocmask(SIG_SETMASK, &all, &original);

  pid_t child = fork();
  if (child < 0) {
    perror("minictr-init: fork");
    return 1;
  }
  if (child == 0) {
    /* Its own process group, like tini: a signal for the group (the
     * terminal's ^C) reaches it once, through us. */
    setpgid(0, 0);
    if (isatty(0)) tcsetpgrp(0, getpid());
    sigprocmask(SIG_SETMASK, &original, NULL);
    execvp(argv[first], argv + first);
    fprintf(stderr, "minictr-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t done = waitpid(-1, &status, WNOHANG);
      if (done <= 0) break;
      if (done == child) return exit_code_of(status);
    }
  }
}
