#include "linux/net/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <exception>
#include <string>
#include <thread>

#include "util/error.h"
#include "util/fd.h"

namespace mctr::net {

void run_in_netns(pid_t pid, const std::function<void()>& fn) {
  const std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/net";
  // Open the namespace in the caller so a wrong pid fails with a clear error.
  UniqueFd ns(check_sys(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC), "open", ns_path));

  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      check_sys(::setns(ns.get(), CLONE_NEWNET), "setns", ns_path);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace mctr::net
