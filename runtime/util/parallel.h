// Two independent steps that each mostly wait for the kernel (an RCU grace
// period behind a veth deletion, an nftables commit, a cgroup rmdir) can wait
// at the same time: run_both() runs `a` on a second thread and `b` on this
// one, then joins. With --explain, or when no thread can be made (a pids
// limit), it runs a then b, so the trace stays in order.
#pragma once

#include <signal.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mctr {

// Both always run to the end; then the first exception (a's, else b's) is rethrown.
void run_both(const std::function<void()>& a, const std::function<void()>& b);

// Every signal blocked in this thread for the scope (its mask comes back).
class SignalsBlocked {
 public:
  SignalsBlocked();
  ~SignalsBlocked();
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t before_;
};

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

// A value made on a second thread, started now, for a step that comes
// later: take() waits for the value (or rethrows the exception that made
// none), not for the thread to exit, which the destructor waits for. The
// thread blocks every signal (they are for the main thread). Like
// Background, it runs `make` in the constructor with --explain.
template <class T>
class InAdvance {
 public:
  explicit InAdvance(std::function<T()> make)
      : making_(std::make_unique<Background>([this, make = std::move(make)] { publish(make); })) {}
  T take() {
    std::unique_lock lock(mutex_);
    made_cv_.wait(lock, [this] { return made_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return std::move(value_);
  }

 private:
  void publish(const std::function<T()>& make) {
    T value{};
    std::exception_ptr error;
    {
      SignalsBlocked blocked;
      try {
        value = make();
      } catch (...) {
        error = std::current_exception();
      }
    }
    std::lock_guard lock(mutex_);
    value_ = std::move(value);
    error_ = error;
    made_ = true;
    made_cv_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable made_cv_;
  bool made_ = false;
  T value_{};
  std::exception_ptr error_;
  std::unique_ptr<Background> making_;  // last: its thread uses the members above
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
