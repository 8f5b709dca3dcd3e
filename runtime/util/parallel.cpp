#include "util/parallel.h"

#include <exception>
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

}  // namespace mctr
