// The messages between the CLI, the supervisor and the container's init,
// and between minictr-runc's create (or exec) and its child: one enum of
// kinds, each with a number and a text, sent as one SOCK_SEQPACKET message
// (fds ride along as SCM_RIGHTS). Replaces the words "go", "CODE msg",
// "started N", "exited N" parsed with atoi/substr.
//
// Wire format (little-endian): kind (1 byte), number (8 bytes), text (the rest).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"

namespace mctr::container::protocol {

enum class Kind : uint8_t {
  // supervisor -> init: cgroup and network are ready; CLI -> supervisor: text = the id to
  // run, number = 1 when a NetNs follows (the network namespace the CLI makes in advance)
  Go = 1,
  SetupFailed,    // init -> supervisor: number = exit code, text = error
  Started,        // supervisor -> CLI: number = the init's host pid
  StartFailed,    // supervisor -> CLI: number = exit code, text = error
  Exited,         // supervisor -> CLI: number = the container's exit code
  MountNs,        // init -> supervisor, fd: the init's mount namespace (shared-memory start)
  NetNs,          // supervisor thread -> init, CLI -> supervisor after Go, fd: the network namespace made
                  // in advance (none: the kernel refused; the start makes one itself)
  Cgroup,         // supervisor thread -> init, fds: the files that join the cgroup
  HandoffFailed,  // supervisor thread -> init: it could not; the supervisor reports why
  RootFs,         // supervisor -> init, fd: --userns: the id maps are written; the root tree it built
  // minictr-runc create and its init (runc/init.h):
  RunHooks,   // init -> create: the bundle's mounts are made, before pivot_root: run prestart/createRuntime
  HooksDone,  // create -> init: text = the container's state JSON (for createContainer/startContainer)
  Ready,      // init -> create: waiting on the exec fifo; `create` writes the pid file and exits
  // minictr run's shared-memory start, supervisor thread -> init (no payload: the program is in
  // the memory the init shares):
  SeccompProgram,  // InitLink::seccomp holds the compiled program
  Console,         // init -> supervisor, fd: with -t, the master of the pty made in the container's devpts
};

struct Message {
  Kind kind = Kind::Go;
  int64_t number = 0;
  std::string text;
  bool operator==(const Message&) const = default;
};

std::string encode(const Message& m);
// Throws mctr::Error on a message that is too short or of an unknown kind.
Message decode(std::string_view bytes);
// "started 1234", for errors and tests.
std::string describe(const Message& m);

// One message on `sock`. send() throws SysError when the peer is gone;
// send_if_listening() is for a peer that may have left on purpose (a
// detached CLI) and says whether it was sent.
void send(int sock, const Message& m, const std::vector<int>& fds = {});
bool send_if_listening(int sock, const Message& m);
// The next message, nullopt when the other end closed (or exec'd: a CLOEXEC end).
std::optional<Message> recv(int sock, std::vector<UniqueFd>* fds = nullptr);

}  // namespace mctr::container::protocol
