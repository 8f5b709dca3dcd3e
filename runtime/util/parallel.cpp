#include "util/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "util/explain.h"

namespace mctr {

namespace {

void run_guarded(const std::function<void()>& f, std::exception_ptr& error) {
  try {
    f();
  } catch (...) {
    error = std::current_exception();
  }
}

// A thread running f, or a not-joinable one (--explain, or EAGAIN).
std::thread start_thread(const std::function<void()>& f, std::exception_ptr& error) {
  if (explain::on()) return {};
  try {
    return std::thread([&f, &error] { run_guarded(f, error); });
  } catch (const std::system_error&) {
    return {};  // EAGAIN (a pids limit): the caller runs f itself
  }
}

}  // namespace

void run_both(const std::function<void()>& a, const std::function<void()>& b) {
  std::exception_ptr a_error, b_error;
  std::thread worker = start_thread(a, a_error);
  if (!worker.joinable()) run_guarded(a, a_error);
  run_guarded(b, b_error);
  if (worker.joinable()) worker.join();
  if (a_error) std::rethrow_exception(a_error);
  if (b_error) std::rethrow_exception(b_error);
}

SignalsBlocked::SignalsBlocked() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before_);
}

SignalsBlocked::~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &before_, nullptr); }

Background::Background(std::function<void()> step) : step_(std::move(step)) {
  thread_ = start_thread(step_, error_);
  if (!thread_.joinable()) run_guarded(step_, error_);
}

Background::~Background() {
  if (thread_.joinable()) thread_.join();
}

void Background::join() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

TaskGroup::TaskGroup(unsigned width) : width_(width ? width : 1) {}

TaskGroup::~TaskGroup() {
  {
    std::lock_guard lock(mu_);  // tasks that poll stopped() end early
    if (!error_) error_ = std::make_exception_ptr(std::runtime_error("task group abandoned"));
  }
  join_all();
}

bool TaskGroup::stopped() const {
  std::lock_guard lock(mu_);
  return error_ != nullptr;
}

void TaskGroup::finished(const std::exception_ptr& error) {
  std::lock_guard lock(mu_);
  if (error && !error_) error_ = error;
  --running_;
  idle_.notify_all();
}

// Waits for a free thread; false once a task failed.
bool TaskGroup::take_slot() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return running_ < width_ || error_; });
  if (error_) return false;
  ++running_;
  return true;
}

void TaskGroup::join_all() {
  for (auto& t : threads_) t.join();
  threads_.clear();
}

// The caller unwinds on this exception and frees what its tasks borrowed:
// only once none of them runs.
void TaskGroup::join_and_rethrow() {
  join_all();
  std::rethrow_exception(error_);  // no task is left to change it
}

void TaskGroup::run(std::function<void()> task) {
  if (!take_slot()) join_and_rethrow();
  auto body = [this, task = std::move(task)] {
    std::exception_ptr error;
    run_guarded(task, error);
    finished(error);
  };
  if (!explain::on()) {
    try {
      threads_.emplace_back(body);
      return;
    } catch (const std::system_error&) {
      // EAGAIN (a pids limit): run it here
    }
  }
  body();
  if (stopped()) join_and_rethrow();
}

void TaskGroup::wait() {
  join_all();
  if (error_) std::rethrow_exception(error_);
}

unsigned online_cpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace mctr
