#include "container/restart.h"

#include <cctype>

#include "util/error.h"

namespace mctr::container {

RestartPolicy parse_restart_policy(const std::string& text) {
  RestartPolicy p;
  if (text.empty() || text == "no") return p;
  const auto colon = text.find(':');
  p.name = restart_name_from_string(text.substr(0, colon));
  if (colon == std::string::npos) return p;
  const std::string count = text.substr(colon + 1);
  if (p.name != RestartName::kOnFailure)
    throw Error("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  bool digits = !count.empty() && count.size() < 9;
  for (char c : count) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits)
    throw Error("invalid restart policy: maximum retry count must be a positive integer: " + count);
  p.max_retries = std::stoi(count);
  return p;
}

std::string restart_policy_text(const RestartPolicy& p) {
  std::string text(to_string(p.name));
  if (p.name == RestartName::kOnFailure && p.max_retries > 0) text += ":" + std::to_string(p.max_retries);
  return text;
}

std::optional<std::chrono::milliseconds> RestartManager::after_exit(const RestartPolicy& p, int exit_code,
                                                                    bool stopped_by_user,
                                                                    std::chrono::milliseconds ran_for) {
  if (p.name == RestartName::kNo || stopped_by_user) return std::nullopt;
  // The delay grows with each quick exit; a container that ran for a while
  // is a new story (Docker counts "a while" as 10 s).
  if (ran_for >= kResetAfter) delay_ = std::chrono::milliseconds{0};
  delay_ = delay_.count() == 0 ? kFirstDelay : std::min(delay_ * 2, kMaxDelay);
  bool restart = false;
  if (p.name == RestartName::kAlways || p.name == RestartName::kUnlessStopped)
    restart = true;
  else if (p.name == RestartName::kOnFailure)
    restart = exit_code != 0 && (p.max_retries == 0 || count_ < p.max_retries);
  if (!restart) return std::nullopt;
  ++count_;
  return delay_;
}

}  // namespace mctr::container
