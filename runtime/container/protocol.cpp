#include "container/protocol.h"

#include <sys/socket.h>

#include <cstring>

#include "linux/namespaces.h"
#include "util/error.h"

namespace mctr::container::protocol {

namespace {

constexpr size_t kHeader = 1 + 8;
constexpr Kind kLastKind = Kind::Console;

const char* name_of(Kind k) {
  switch (k) {
    case Kind::Go:
      return "go";
    case Kind::SetupFailed:
      return "setup-failed";
    case Kind::Started:
      return "started";
    case Kind::StartFailed:
      return "start-failed";
    case Kind::Exited:
      return "exited";
    case Kind::MountNs:
      return "mount-ns";
    case Kind::NetNs:
      return "net-ns";
    case Kind::Cgroup:
      return "cgroup";
    case Kind::HandoffFailed:
      return "handoff-failed";
    case Kind::RootFs:
      return "rootfs";
    case Kind::RunHooks:
      return "run-hooks";
    case Kind::HooksDone:
      return "hooks-done";
    case Kind::Ready:
      return "ready";
    case Kind::SeccompProgram:
      return "seccomp-program";
    case Kind::Console:
      return "console";
  }
  return "?";
}

}  // namespace

std::string encode(const Message& m) {
  std::string out(kHeader, '\0');
  out[0] = static_cast<char>(m.kind);
  auto n = static_cast<uint64_t>(m.number);
  for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += m.text;
  return out;
}

Message decode(std::string_view bytes) {
  if (bytes.size() < kHeader)
    throw Error("protocol: a message of " + std::to_string(bytes.size()) + " bytes (at least 9 expected)");
  auto kind = static_cast<uint8_t>(bytes[0]);
  if (kind < static_cast<uint8_t>(Kind::Go) || kind > static_cast<uint8_t>(kLastKind))
    throw Error("protocol: unknown message kind " + std::to_string(kind));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[1 + i])) << (8 * i);
  return {static_cast<Kind>(kind), static_cast<int64_t>(n), std::string(bytes.substr(kHeader))};
}

std::string describe(const Message& m) {
  std::string out = name_of(m.kind);
  if (m.kind != Kind::Go) out += " " + std::to_string(m.number);
  if (!m.text.empty()) out += " " + m.text;
  return out;
}

void send(int sock, const Message& m, const std::vector<int>& fds) {
  if (fds.empty())
    linux_ns::SyncChannel::send(sock, encode(m));
  else
    linux_ns::SyncChannel::send_with_fds(sock, encode(m), fds);
}

bool send_if_listening(int sock, const Message& m) {
  if (sock < 0) return false;
  try {
    send(sock, m);
    return true;
  } catch (const SysError& e) {
    // The CLI went away (EPIPE) or was never there: nothing to tell.
    if (e.err() == EPIPE || e.err() == ECONNRESET || e.err() == EBADF) return false;
    throw;
  }
}

std::optional<Message> recv(int sock, std::vector<UniqueFd>* fds) {
  std::vector<UniqueFd> ignored;
  std::optional<std::string> bytes;
  // A peer that exits with messages of ours unread (the supervisor that
  // failed before it took the network namespace the CLI sent) makes the
  // kernel report ECONNRESET once, ahead of what the peer sent before it
  // went, which is still queued: read again for that (then EOF).
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      bytes = linux_ns::SyncChannel::recv_with_fds(sock, fds ? *fds : ignored);
      break;
    } catch (const SysError& e) {
      if (e.err() != ECONNRESET) throw;
    }
  }
  if (!bytes) return std::nullopt;
  return decode(*bytes);
}

}  // namespace mctr::container::protocol
