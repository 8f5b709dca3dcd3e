// The thread pool when threads cannot be created: it must run with fewer, never throw or
// std::terminate(). Checked twice: with an injected starter that fails like clone() does
// under a pids limit, and for real in a forked child placed in a v1 pids cgroup (root only).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include "model/threadpool.h"

namespace mctr::infer {
namespace {

// Sums 0..n-1 through the pool; every task must run exactly once.
long long sum_via_pool(ThreadPool& pool, int n) {
  std::vector<std::atomic<int>> ran(n);
  std::atomic<long long> sum{0};
  pool.run(n, [&](int i) {
    ran[i]++;
    sum += i;
  });
  for (int i = 0; i < n; i++)
    if (ran[i] != 1) return -1;
  return sum;
}

// A starter that lets `allowed` threads start, then fails as pthread_create does with EAGAIN.
ThreadStarter failing_after(int allowed, std::atomic<int>& attempts) {
  return [allowed, &attempts](std::function<void()> body) {
    if (attempts++ >= allowed) throw std::system_error(EAGAIN, std::generic_category(), "thread");
    return std::thread(std::move(body));
  };
}

TEST(ThreadPool, RunsWithFewerThreadsWhenCreationFails) {
  for (int allowed : {0, 1, 2}) {
    std::atomic<int> attempts{0};
    ThreadPool pool(6, failing_after(allowed, attempts));
    EXPECT_EQ(pool.size(), allowed + 1);
    EXPECT_EQ(pool.requested(), 6);
    EXPECT_NE(pool.start_error().find("Resource temporarily unavailable"), std::string::npos)
        << pool.start_error();
    EXPECT_EQ(attempts, allowed + 1) << "it stops trying after the first failure";
    for (int round = 0; round < 50; round++) ASSERT_EQ(sum_via_pool(pool, 97), 97LL * 96 / 2);
  }  // the destructor joins the workers that did start
}

TEST(ThreadPool, AllThreadsStartNormally) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  EXPECT_EQ(pool.start_error(), "");
  EXPECT_EQ(sum_via_pool(pool, 1000), 1000LL * 999 / 2);
}

TEST(ThreadPool, StartThreadsKeepsTheOnesThatStarted) {
  std::atomic<int> attempts{0}, ran{0};
  std::string why;
  auto threads = start_threads(
      5, [&] { ran++; }, &why, failing_after(3, attempts));
  EXPECT_EQ(threads.size(), 3u);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ran, 3);
  EXPECT_FALSE(why.empty());
}

// The real thing: a child process alone in a pids cgroup with pids.max = 3 may have itself
// and two more threads. A pool asking for 8 threads must come up with exactly 3 and work.
TEST(ThreadPool, RealPidsCgroupLimit) {
  const std::string root = "/sys/fs/cgroup/pids";
  if (geteuid() != 0 || access((root + "/cgroup.procs").c_str(), W_OK) != 0)
    GTEST_SKIP() << "needs root and the cgroup v1 pids controller at " << root;
  const std::string cg = root + "/minictr-infer-test-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << cg << ": " << std::strerror(errno);
  struct RemoveGroup {
    std::string path;
    ~RemoveGroup() { rmdir(path.c_str()); }  // empty again once the child has exited
  } remove{cg};
  {
    std::ofstream max(cg + "/pids.max");
    max << 3;
    ASSERT_TRUE(max.flush()) << "writing pids.max";
  }

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe-ish, self-contained work here; report by exit code.
    {
      std::ofstream procs(cg + "/cgroup.procs");
      procs << getpid();
      if (!procs.flush()) _exit(10);
    }
    int code = 0;
    try {
      ThreadPool pool(8);
      if (pool.size() != 3)
        code = 20 + pool.size();
      else if (sum_via_pool(pool, 500) != 500LL * 499 / 2)
        code = 12;
    } catch (...) {
      code = 13;  // the old pool threw std::system_error here
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child died by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: cannot join the cgroup, 12: wrong sum, 13: threw, 20+n: size n";
}

}  // namespace
}  // namespace mctr::infer

// ~1 s in a plain build. ThreadSanitizer makes every atomic access many times
// slower (the test took 27-30 s of its 30 s alarm there) and finds a data race
// without the volume, so it runs a third of them.
#if defined(__SANITIZE_THREAD__)
constexpr int kBackToBackJobs = 100000;
#else
constexpr int kBackToBackJobs = 300000;
#endif

// Back-to-back jobs of different sizes: every index of every job runs exactly
// once. A worker still inside the previous job once claimed a task of the next
// one with a stale snapshot (the job's `done` count then passed n and run()
// spun forever); a forked child with a deadline turns such a hang into a failure.
TEST(ThreadPool, BackToBackJobsRunEachTaskOnce) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(30);  // a hang ends the child with SIGALRM
    // More threads than CPUs: workers get preempted inside work_on(), which
    // widens the window the old race needed.
    mctr::infer::ThreadPool pool(8);
    std::vector<std::atomic<int>> hits(64);
    for (int job = 0; job < kBackToBackJobs; job++) {
      int n = (job % 2) ? 2 : 7 + job % 50;
      for (auto& h : hits) h.store(0, std::memory_order_relaxed);
      pool.run(n, [&](int i) { hits[i].fetch_add(1, std::memory_order_relaxed); });
      for (int i = 0; i < n; i++)
        if (hits[i].load() != 1) _exit(10);
      for (int i = n; i < 64; i++)
        if (hits[i].load() != 0) _exit(11);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << " (SIGALRM = hung)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: a task ran twice or not at all; 11: an index beyond n ran";
}
