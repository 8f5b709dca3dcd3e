// Run a check in a forked child: security settings (capabilities, seccomp,
// masked paths, cgroups) are per process and irreversible, so each test
// applies them in a child and reports back through the exit status.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>

// Inside a child: print what failed and exit non-zero (no gtest here: the
// child may run under a seccomp filter and must not return into gtest).
#define CHILD_CHECK(cond)                                                                 \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::fflush(stderr);                                                                \
      _exit(1);                                                                           \
    }                                                                                     \
  } while (0)

// Fork, run fn in the child, return its exit code (128+signal if killed).
inline int run_in_child(const std::function<void()>& fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child threw: %s\n", e.what());
      _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
