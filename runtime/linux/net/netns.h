// Doing things inside another process's network namespace from the parent.
#pragma once

#include <sys/types.h>

#include <functional>

namespace mctr::net {

// Run `fn` on a short-lived thread that has joined the network namespace of
// `pid` (setns on /proc/<pid>/ns/net). setns(CLONE_NEWNET) changes only the
// calling *thread*, so the rest of the process never leaves the host netns;
// the thread ends right after, so nothing needs restoring. Sockets created by
// `fn` stay in that namespace for their whole life, even when used later from
// other threads. Exceptions thrown by `fn` are rethrown here.
void run_in_netns(pid_t pid, const std::function<void()>& fn);

}  // namespace mctr::net
