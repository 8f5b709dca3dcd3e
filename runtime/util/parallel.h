// Two independent steps that each mostly wait for the kernel (an RCU grace
// period behind a veth deletion, an nftables commit, a cgroup rmdir) can wait
// at the same time: run_both() runs `a` on a second thread and `b` on this
// one, then joins. With --explain, or when no thread can be made (a pids
// limit), it runs a then b, so the trace stays in order.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mctr {

// Both always run to the end; then the first exception (a's, else b's) is rethrown.
void run_both(const std::function<void()>& a, const std::function<void()>& b);

// One step on a second thread, started now, while this one goes on; join()
// waits for it and rethrows its exception. With --explain, or when no thread
// can be made, the step runs in the constructor. The destructor joins too
// (an exception not collected by join() is dropped).
class Background {
 public:
  explicit Background(std::function<void()> step);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  void join();

 private:
  std::function<void()> step_;
  std::exception_ptr error_;
  std::thread thread_;
};

// Independent tasks (the layers of an image) on up to `width` threads at
// once. run() waits for a free thread; the first task that throws stops the
// group: later tasks are not started, running ones can stop early by polling
// stopped(), and run() and wait() rethrow its exception once every task has
// ended. No task outlives a call that throws, nor the group (the destructor
// stops and joins): what a task borrows need only outlive the group, so
// declare the group after it. With --explain, or when no thread can be made,
// run() runs the task itself.
class TaskGroup {
 public:
  explicit TaskGroup(unsigned width);
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  void run(std::function<void()> task);
  void wait();
  bool stopped() const;

 private:
  bool take_slot();
  void finished(const std::exception_ptr& error);
  void join_all();
  [[noreturn]] void join_and_rethrow();
  unsigned width_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  unsigned running_ = 0;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

// The CPUs this process may run on (sched_getaffinity), at least 1.
unsigned online_cpus();

}  // namespace mctr
