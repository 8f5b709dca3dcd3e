#include "container/network_in_advance.h"

#include <pthread.h>

#include <csignal>

#include "linux/namespaces.h"

namespace mctr::container {

NetworkNamespaceInAdvance::NetworkNamespaceInAdvance() {
  making_ = std::make_unique<Background>([this] {
    // Signals are for the CLI's main thread, which forwards them to the
    // container; none may end up here (SIGTERM would end the process).
    // (With --explain this runs on the main thread: its mask comes back.)
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    UniqueFd made;
    try {
      made = linux_ns::new_network_namespace();
    } catch (const std::exception&) {
    }
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    std::lock_guard lock(mutex_);
    netns_ = std::move(made);
    made_ = true;
    made_cv_.notify_one();
  });
}

UniqueFd NetworkNamespaceInAdvance::take() {
  std::unique_lock lock(mutex_);
  made_cv_.wait(lock, [this] { return made_; });
  return std::move(netns_);
}

}  // namespace mctr::container
