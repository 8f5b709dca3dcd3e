// A cache of compiled seccomp programs.
//
// Docker's default profile has ~370 rules; libseccomp needs ~10 ms of CPU to
// turn them into the ~1000-instruction BPF program the kernel runs. The
// program only depends on the rules that apply (profile, kept capabilities,
// kernel version) and on libseccomp itself, so minictr keeps the result under
// <root>/cache/seccomp/<hash of those inputs>.bpf, and a second container
// with the same settings only reads ~15 KB.
//
// After the inputs, the file holds plain `struct sock_filter` records,
// exactly what prctl(PR_SET_SECCOMP) takes; it lives in the root-only state
// directory.
#include <elf.h>
#include <link.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <functional>

#include "linux/security/seccomp_profile.h"
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

// The GNU build id of this executable (a hash the linker stamps into an ELF
// note, different for every build), in hex; "" when it has none.
std::string own_build_id() {
  std::string id;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) -> int {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
          const char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const char* name = p + sizeof *n;
            const char* desc = name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              auto* hex = static_cast<std::string*>(out);
              for (unsigned k = 0; k < n->n_descsz; ++k) {
                char b[3];
                std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(desc[k]));
                *hex += b;
              }
              return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
          }
        }
        return 1;  // only the first object: the executable itself
      },
      &id);
  return id;
}

// The inputs of the default profile's program, without building the profile
// (~370 rules as strings, ~0.1 ms): its rules are code in this executable,
// so the build id stands for them (and for libseccomp when it is linked
// in); the kernel decides the architectures (x32) and which rules apply (by
// version); the options decide the kept capabilities. "" when there is no
// build id: then the full fingerprint is used.
std::string default_profile_key(const Options& o) {
  const std::string build = own_build_id();
  if (build.empty()) return "";
  utsname u{};
  ::uname(&u);
  const scmp_version* v = seccomp_version();
  std::string key = "minictr-seccomp-default build " + build + " libseccomp " + std::to_string(v->major) +
                    "." + std::to_string(v->minor) + "." + std::to_string(v->micro) + " kernel " + u.release +
                    " " + u.version + " arches";
  for (const auto& a : native_libseccomp_arches()) key += " " + a;
  key += " caps";
  for (const auto& c : resolve_capabilities(o)) key += " " + c;
  return key;
}

}  // namespace

std::string seccomp_cache_key(const Options& o) {
  if (o.privileged || o.seccomp == "unconfined") return "";
  if (o.seccomp.empty())
    if (std::string key = default_profile_key(o); !key.empty()) return key;
  return seccomp_fingerprint(o);
}

std::vector<sock_filter> compile_seccomp_cached(const Options& o, const std::filesystem::path& cache_dir) {
  const std::string key = seccomp_cache_key(o);
  if (key.empty()) return {};  // unconfined or privileged: no filter
  return compile_seccomp_cached(key, cache_dir, [&] { return compile_seccomp(o); });
}

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
