// Two independent steps that each mostly wait for the kernel (an RCU grace
// period behind a veth deletion, an nftables commit, a cgroup rmdir) can wait
// at the same time: run_both() runs `a` on a second thread and `b` on this
// one, then joins. With --explain, or when no thread can be made (a pids
// limit), it runs a then b, so the trace stays in order.
#pragma once

#include <functional>

namespace mctr {

// Both always run to the end; then the first exception (a's, else b's) is rethrown.
void run_both(const std::function<void()>& a, const std::function<void()>& b);

}  // namespace mctr
