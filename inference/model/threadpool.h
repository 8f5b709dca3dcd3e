// A small fork-join pool for matmuls: run(n, fn) calls fn(i) for i in [0, n) spread over the
// workers and the calling thread, and returns when all are done.
//
// A token's forward pass issues a few dozen such jobs, each well under a millisecond, so
// the pool is built to never wait for a thread that is not running: tasks are claimed one
// by one from a shared counter, and the caller claims them too. If the workers are asleep
// or descheduled (the CPU is shared), the caller simply does all the work itself; it only
// ever waits for tasks another thread has actually started. Workers spin briefly for the
// next job before sleeping on a condition variable.
//
// Creating a thread can fail: under a pids cgroup limit (docker/minictr --pids-limit) clone()
// returns EAGAIN and std::thread throws std::system_error. The pool then simply runs with the
// threads it got (at least the caller); requested() and start_error() say what happened.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mctr::infer {

// Starts one thread running `body` (std::thread by default; tests inject failures).
using ThreadStarter = std::function<std::thread(std::function<void()> body)>;

// Starts up to n threads running body(). Stops at the first one the system refuses (a
// std::system_error, e.g. EAGAIN; any exception) and returns those that run; *why gets the reason.
std::vector<std::thread> start_threads(int n, const std::function<void()>& body, std::string* why,
                                       const ThreadStarter& starter = {});

class ThreadPool {
 public:
  // n_threads: total threads including the caller; >= 1. Never fails for lack of threads:
  // it runs with fewer workers (down to none) instead.
  explicit ThreadPool(int n_threads, const ThreadStarter& starter = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  int requested() const { return requested_; }
  // Why fewer threads than requested could be started ("" when all were).
  const std::string& start_error() const { return start_error_; }
  // Runs fn(0..n-1). Only one run() at a time: concurrent callers queue on a mutex.
  void run(int n, const std::function<void(int)>& fn);

 private:
  void stop_and_join();
  void worker_loop();
  // Claims and runs tasks of job `gen` until none are left.
  void work_on(uint32_t gen);

  int requested_;
  std::string start_error_;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // serializes callers of run()

  // state_ = job generation << 32 | index of the next unclaimed task. A thread claims a task
  // with compare-and-swap, so a thread still holding an old generation can never claim a
  // task of the next job. The fields a claim reads share one cache line; done_, written at
  // the end of every task, has its own, so claims and completions do not bounce one line.
  alignas(64) std::atomic<uint64_t> state_{0};
  // Atomic because a thread finishing an old job may still read them while run() sets up the next.
  std::atomic<int> n_tasks_{0};
  std::atomic<const std::function<void(int)>*> fn_{nullptr};
  alignas(64) std::atomic<int> done_{0};  // tasks of the current job that have finished

  alignas(64) std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace mctr::infer
