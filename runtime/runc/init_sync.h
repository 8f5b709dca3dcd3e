// What `create` and the container's init say to each other while the
// container is made, over the SOCK_SEQPACKET pair of linux_ns::SyncChannel:
// one byte of kind, then a text.
//   create -> init  kGo           the cgroup is ready (and the id maps written)
//   init -> create  kRunHooks     mounts are done, before pivot_root: run prestart/createRuntime
//   create -> init  kHooksDone    go on
//   init -> create  kReady        waiting on the exec fifo: `create` can write the pid file
//   init -> create  kFailed       text = the error; the init exits
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mctr::runc {

enum class InitMsg : uint8_t { kGo = 1, kRunHooks, kHooksDone, kReady, kFailed };

struct InitMessage {
  InitMsg kind = InitMsg::kGo;
  std::string text;
};

void send_init_message(int sock, InitMsg kind, const std::string& text = "");
// nullopt when the other end closed (the init exec'd or died).
std::optional<InitMessage> recv_init_message(int sock);
const char* init_msg_name(InitMsg kind);

}  // namespace mctr::runc
