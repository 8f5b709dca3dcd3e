// A cache of compiled seccomp programs.
//
// Docker's default profile has ~370 rules; libseccomp needs ~10 ms of CPU to
// turn them into the ~1000-instruction BPF program the kernel runs. The
// program only depends on the rules (the bundle's linux.seccomp, resolved
// for the kept capabilities, this kernel and architecture when the bundle
// was written) and on libseccomp itself, so minictr keeps the result under
// <root>/cache/seccomp/<hash of those inputs>.bpf, and a second container
// with the same settings only reads ~15 KB.
//
// After the inputs, the file holds plain `struct sock_filter` records,
// exactly what prctl(PR_SET_SECCOMP) takes; it lives in the root-only state
// directory.
#include <linux/filter.h>

#include <cstdio>
#include <cstring>
#include <functional>

#include "linux/security/security.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::security {

namespace {

// FNV-1a: names the cache file. The file also holds the whole fingerprint,
// compared on every read, so two inputs with the same hash only cost a
// recompile, never the wrong program.
std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// File layout: the fingerprint text, a NUL, then the sock_filter records.
std::string cache_record(const std::string& fingerprint, const std::vector<sock_filter>& prog) {
  std::string bytes = fingerprint;
  bytes.push_back('\0');
  bytes.append(reinterpret_cast<const char*>(prog.data()), prog.size() * sizeof(sock_filter));
  return bytes;
}

// The program cached for exactly this fingerprint, or empty when the file is
// missing, made for other inputs, or not a whole, plausible program (the
// kernel takes at most BPF_MAXINSNS instructions).
std::vector<sock_filter> read_cached_program(const std::filesystem::path& file,
                                             const std::string& fingerprint) {
  auto bytes = fs::read_file_if_exists(file);
  if (!bytes || bytes->size() <= fingerprint.size() + 1) return {};
  if (bytes->compare(0, fingerprint.size(), fingerprint) != 0 || (*bytes)[fingerprint.size()] != '\0')
    return {};
  size_t prog_bytes = bytes->size() - fingerprint.size() - 1;
  if (prog_bytes % sizeof(sock_filter) != 0 || prog_bytes / sizeof(sock_filter) > BPF_MAXINSNS) return {};
  std::vector<sock_filter> prog(prog_bytes / sizeof(sock_filter));
  std::memcpy(prog.data(), bytes->data() + fingerprint.size() + 1, prog_bytes);
  return prog;
}

}  // namespace

std::vector<sock_filter> compile_seccomp_cached(const std::string& key,
                                                const std::filesystem::path& cache_dir,
                                                const std::function<std::vector<sock_filter>()>& compile) {
  const auto file = cache_dir / (fnv1a_hex(key) + ".bpf");
  if (auto prog = read_cached_program(file, key); !prog.empty()) return prog;

  std::vector<sock_filter> prog = compile();
  try {
    fs::mkdir_p(cache_dir, 0700);
    // Atomic (temp + rename): a concurrent reader sees no file or a whole one.
    // Not durable: a program lost in a crash is simply compiled again.
    fs::write_file_atomic(file, cache_record(key, prog), 0600, false);
  } catch (const std::exception&) {
    // A read-only or full state directory only costs the next start the compile.
  }
  return prog;
}

}  // namespace mctr::security
