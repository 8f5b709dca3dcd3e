// Two independent steps that each mostly wait for the kernel (an RCU grace
// period behind a veth deletion, an nftables commit, a cgroup rmdir) can wait
// at the same time: run_both() runs `a` on a second thread and `b` on this
// one, then joins. With --explain, or when no thread can be made (a pids
// limit), it runs a then b, so the trace stays in order.
#pragma once

#include <exception>
#include <functional>
#include <thread>

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

}  // namespace mctr
