// A small fork-join pool for matmuls: run(n, fn) calls fn(i) for i in [0, n) spread over the
// workers and the calling thread, and returns when all are done.
//
// A token's forward pass issues a few dozen such jobs, each well under a millisecond, so
// the pool is built to never wait for a thread that is not running: tasks are claimed one
// by one, and the caller claims them too. If the workers are asleep or descheduled (the CPU
// is shared), the caller simply does all the work itself; it only ever waits for tasks
// another thread has actually started. Workers spin briefly for the next job before
// sleeping on a condition variable.
//
// The tasks of a job are dealt out in contiguous ranges, one per thread, and each thread
// claims from its own range first, then from the others'. So when every thread runs, task i
// of a job lands on the same thread job after job: the same rows of each matmul, the same
// tokens of each per-token step, the same attention heads, whose weights and activations
// then stay in that core's caches. Claiming from one shared counter spread them anew each
// job, and the cores spent their time moving cache lines between them.
//
// Creating a thread can fail: under a pids cgroup limit (docker/minictr --pids-limit) clone()
// returns EAGAIN and std::thread throws std::system_error. The pool then simply runs with the
// threads it got (at least the caller); requested() and start_error() say what happened.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
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
  void worker_loop(int slot);
  // Claims and runs tasks of job `gen`, those of slot `own` first, until none are left.
  void work_on(uint32_t gen, int own);
  // Claims and runs tasks of job `gen` from one slot's range until it is empty.
  void drain(uint32_t gen, int slot);

  int requested_;
  std::string start_error_;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // serializes callers of run()

  // One range of the job's tasks per thread (the caller's is slot 0, worker i's slot i + 1).
  // state = job generation << 32 | how many tasks of the range are claimed. A thread claims
  // a task with compare-and-swap, so a thread still holding an old generation can never claim
  // a task of the next job. Each slot has its own cache line: claims of different threads do
  // not bounce one line.
  struct alignas(64) Slot {
    std::atomic<uint64_t> state{0};
    // Atomic because a thread finishing an old job may still read them while run() sets up the next.
    std::atomic<int> begin{0}, count{0};
  };
  std::unique_ptr<Slot[]> slots_;
  int n_slots_ = 1;
  alignas(64) std::atomic<uint32_t> gen_{0};  // the latest job's generation, which workers wait for
  std::atomic<const std::function<void(int)>*> fn_{nullptr};
  alignas(64) std::atomic<int> done_{0};  // tasks of the current job that have finished

  alignas(64) std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace mctr::infer
