// A seccomp profile in Docker's shape: a default action plus a list of
// syscall rules, each of which may apply only when some capabilities are
// kept ("includes caps"), on some architectures, or on newer kernels.
// Docker's default profile (seccomp_default.cpp) and profiles read from JSON
// (seccomp_json.cpp) both become this value; seccomp.cpp turns it into a
// kernel filter with libseccomp.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mctr::security {

enum class Action { Allow, Errno, KillThread, KillProcess, Trap, Trace, Log };

// Compare syscall argument `index` with `value` (MaskedEq: (arg & value) == value_two).
enum class Op { NotEqual, Less, LessEqual, Equal, GreaterEqual, Greater, MaskedEqual };

struct ArgCheck {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  Op op = Op::Equal;
};

// When a rule applies. Docker's semantics: "includes" needs ALL listed caps
// kept, the native arch listed, kernel >= min_kernel; "excludes" drops the
// rule if ANY listed cap is kept, the arch is listed, or kernel >= min_kernel.
struct Condition {
  std::vector<std::string> caps;    // "CAP_SYS_ADMIN"
  std::vector<std::string> arches;  // Go names: "amd64", "arm64", "s390x", ...
  std::string min_kernel;           // "4.8"
};

struct SyscallRule {
  std::vector<std::string> names;
  Action action = Action::Allow;
  int errno_ret = -1;  // for Action::Errno; -1 = the profile's default errno
  std::vector<ArgCheck> args;
  Condition includes;
  Condition excludes;
};

struct Profile {
  Action default_action = Action::Errno;
  int default_errno = 1;                   // EPERM
  std::vector<std::string> architectures;  // libseccomp names: "x86_64", "x86", "x32"
  std::vector<SyscallRule> syscalls;
};

// Docker's default profile (moby profiles/seccomp/default.json) for this
// machine's architecture.
Profile docker_default_profile();
// The architectures the default profile covers here (libseccomp names):
// the native one and its 32-bit one, plus x32 when this kernel runs it.
std::vector<std::string> native_libseccomp_arches();

// Parse a Docker or OCI seccomp profile. Throws mctr::Error (one line) when
// the JSON or a field is malformed.
Profile parse_profile_json(const std::string& text);
Profile load_profile_file(const std::filesystem::path& path);

// The rules that apply for the kept capabilities (names with or without
// CAP_) on this machine (arch, kernel version).
std::vector<SyscallRule> applicable_rules(const Profile& p, const std::vector<std::string>& kept_caps);

// The BPF program of the rules that apply for `kept_caps`, not loaded
// (load_seccomp_program, security.h, hands it to the kernel).
std::vector<sock_filter> compile_profile(const Profile& p, const std::vector<std::string>& kept_caps);

// Build the filter and load it into the calling thread (seccomp(2)).
void load_profile(const Profile& p, const std::vector<std::string>& kept_caps);

}  // namespace mctr::security
