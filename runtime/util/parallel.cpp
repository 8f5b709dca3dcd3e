#include "util/parallel.h"

#include <exception>
#include <system_error>
#include <thread>

#include "util/explain.h"

namespace mctr {

void run_both(const std::function<void()>& a, const std::function<void()>& b) {
  std::exception_ptr a_error, b_error;
  auto guarded = [](const std::function<void()>& f, std::exception_ptr& error) {
    try {
      f();
    } catch (...) {
      error = std::current_exception();
    }
  };
  std::thread worker;
  if (!explain::on()) {
    try {
      worker = std::thread([&] { guarded(a, a_error); });
    } catch (const std::system_error&) {
      // EAGAIN: run a on this thread below.
    }
  }
  if (!worker.joinable()) guarded(a, a_error);
  guarded(b, b_error);
  if (worker.joinable()) worker.join();
  if (a_error) std::rethrow_exception(a_error);
  if (b_error) std::rethrow_exception(b_error);
}

}  // namespace mctr
