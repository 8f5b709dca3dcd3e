// A fuzz input as a file: the parsers under test open paths (libarchive
// reopens the archive for each pass, the GGUF reader maps its file), so the
// bytes go into a memfd and the parser gets /proc/self/fd/N. Nothing is
// written to disk for the input itself.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "util/error.h"
#include "util/fd.h"

namespace mctr::fuzz {

class MemfdInput {
 public:
  MemfdInput(const uint8_t* data, size_t size) {
    fd_.reset(check_sys(::memfd_create("fuzz-input", MFD_CLOEXEC), "memfd_create", ""));
    for (size_t done = 0; done < size;) {
      ssize_t n = ::write(fd_.get(), data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw_sys("write", "memfd");
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_.get());
  }
  const std::string& path() const { return path_; }

 private:
  UniqueFd fd_;
  std::string path_;
};

// A harness bug or a parser that broke its contract: abort so libFuzzer (and
// the replay test) report it with the input.
[[noreturn]] inline void contract_broken(const char* what) {
  std::fprintf(stderr, "fuzz: contract broken: %s\n", what);
  std::abort();
}

// MINICTR_FUZZ_VERBOSE=1: print why an input was rejected (to see which
// check a regression input or a seed reaches).
inline void show_rejection(const Error& e) {
  static const bool verbose = std::getenv("MINICTR_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
}

}  // namespace mctr::fuzz
