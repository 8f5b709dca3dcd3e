// Errors in minictr carry what failed: the syscall (or step), the path it
// acted on, and errno's text. The CLI prints e.what() on one line and exits
// with the Docker-like code in exit_code().
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace mctr {

// Docker's exit codes for failures that are not the container's own status.
inline constexpr int kExitRuntimeError = 125;  // minictr itself failed
inline constexpr int kExitCannotInvoke = 126;  // command found but not executable
inline constexpr int kExitNotFound = 127;      // command not found

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int exit_code = kExitRuntimeError)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// A failed system call: "mount(/var/lib/minictr/x): Permission denied".
class SysError : public Error {
 public:
  SysError(const std::string& call, const std::string& path, int err);
  int err() const { return err_; }

 private:
  int err_;
};

// Throw SysError for the current errno.
[[noreturn]] void throw_sys(const std::string& call, const std::string& path = "");

// Return ret, or throw SysError(call, path, errno) when ret is -1.
template <typename T>
T check_sys(T ret, const char* call, const std::string& path = "") {
  if (ret == static_cast<T>(-1)) throw_sys(call, path);
  return ret;
}

}  // namespace mctr
