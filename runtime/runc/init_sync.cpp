#include "runc/init_sync.h"

#include "linux/namespaces.h"
#include "util/error.h"

namespace mctr::runc {

const char* init_msg_name(InitMsg kind) {
  switch (kind) {
    case InitMsg::kGo:
      return "go";
    case InitMsg::kRunHooks:
      return "run-hooks";
    case InitMsg::kHooksDone:
      return "hooks-done";
    case InitMsg::kReady:
      return "ready";
    case InitMsg::kFailed:
      return "failed";
  }
  return "?";
}

void send_init_message(int sock, InitMsg kind, const std::string& text) {
  linux_ns::SyncChannel::send(sock, std::string(1, static_cast<char>(kind)) + text);
}

std::optional<InitMessage> recv_init_message(int sock) {
  std::vector<UniqueFd> fds;
  auto raw = linux_ns::SyncChannel::recv_with_fds(sock, fds);
  if (!raw) return std::nullopt;
  if (raw->empty()) throw Error("init sync: empty message");
  auto kind = static_cast<uint8_t>((*raw)[0]);
  if (kind < static_cast<uint8_t>(InitMsg::kGo) || kind > static_cast<uint8_t>(InitMsg::kFailed))
    throw Error("init sync: unknown message kind " + std::to_string(kind));
  return InitMessage{static_cast<InitMsg>(kind), raw->substr(1)};
}

}  // namespace mctr::runc
