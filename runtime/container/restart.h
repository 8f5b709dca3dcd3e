// Restart policies (--restart), as Docker's restart manager applies them
// (moby restartmanager): when the container's process exits, restart it
// after a back-off that starts at 100 ms and doubles up to 1 minute, and
// falls back to 100 ms once the container ran for 10 s or more.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "container/config.h"

namespace mctr::container {

// "no" (or ""), "on-failure", "on-failure:N", "always", "unless-stopped".
// Throws Error (125) with Docker's wording otherwise.
RestartPolicy parse_restart_policy(const std::string& text);
// Back to the flag's text: "on-failure:3", "always", ...
std::string restart_policy_text(const RestartPolicy& p);

class RestartManager {
 public:
  static constexpr std::chrono::milliseconds kFirstDelay{100};
  static constexpr std::chrono::milliseconds kMaxDelay{60000};
  static constexpr std::chrono::seconds kResetAfter{10};

  // `restart_count`: restarts already made for this start (on-failure:N counts them).
  explicit RestartManager(int restart_count = 0) : count_(restart_count) {}

  // After an exit: the delay before the next start, or nullopt to stay
  // exited. `stopped_by_user`: a stop or kill ended it (always and
  // unless-stopped too stay stopped: minictr has no daemon restart).
  std::optional<std::chrono::milliseconds> after_exit(const RestartPolicy& p, int exit_code,
                                                      bool stopped_by_user,
                                                      std::chrono::milliseconds ran_for);
  int restart_count() const { return count_; }

 private:
  std::chrono::milliseconds delay_{0};
  int count_ = 0;
};

}  // namespace mctr::container
