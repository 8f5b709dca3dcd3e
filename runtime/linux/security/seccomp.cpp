// Seccomp: a BPF filter the kernel runs on every system call of the
// container. libseccomp compiles our rule table into that BPF program.
//
// The filter is inherited by every child and survives execve; it can never
// be removed, only made stricter. Loading it needs either CAP_SYS_ADMIN or
// no_new_privs (otherwise a filter could confuse a setuid-root program).
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "linux/security/seccomp_profile.h"
#include "linux/security/security.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::security {

namespace {

// Go's name for this machine (Docker's profiles use GOARCH-style names in
// includes/excludes "arches").
const char* native_go_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__i386__)
  return "x86";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "CAP_SYS_ADMIN" and "SYS_ADMIN" compare equal.
std::string strip_cap_prefix(const std::string& s) { return s.rfind("CAP_", 0) == 0 ? s.substr(4) : s; }

bool cap_kept(const std::vector<std::string>& kept, const std::string& cap) {
  std::string want = strip_cap_prefix(cap);
  return std::any_of(kept.begin(), kept.end(),
                     [&](const std::string& k) { return strip_cap_prefix(k) == want; });
}

// "6.18.44-fc" -> {6, 18, 44}
std::vector<int> parse_version(const std::string& s) {
  std::vector<int> v;
  int major = 0, minor = 0, patch = 0;
  int n = std::sscanf(s.c_str(), "%d.%d.%d", &major, &minor, &patch);
  if (n < 1) throw Error("seccomp: bad kernel version: " + s);
  v = {major, n >= 2 ? minor : 0, n >= 3 ? patch : 0};
  return v;
}

bool kernel_at_least(const std::string& min) {
  struct utsname u {};
  uname(&u);
  return parse_version(u.release) >= parse_version(min);
}

uint32_t to_libseccomp(Action a, int errno_ret, int default_errno) {
  switch (a) {
    case Action::Allow:
      return SCMP_ACT_ALLOW;
    case Action::Errno:
      return SCMP_ACT_ERRNO(static_cast<uint16_t>(errno_ret >= 0 ? errno_ret : default_errno));
    case Action::KillThread:
      return SCMP_ACT_KILL_THREAD;
    case Action::KillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case Action::Trap:
      return SCMP_ACT_TRAP;
    case Action::Trace:
      return SCMP_ACT_TRACE(static_cast<uint16_t>(errno_ret >= 0 ? errno_ret : default_errno));
    case Action::Log:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare to_libseccomp(Op op) {
  switch (op) {
    case Op::NotEqual:
      return SCMP_CMP_NE;
    case Op::Less:
      return SCMP_CMP_LT;
    case Op::LessEqual:
      return SCMP_CMP_LE;
    case Op::Equal:
      return SCMP_CMP_EQ;
    case Op::GreaterEqual:
      return SCMP_CMP_GE;
    case Op::Greater:
      return SCMP_CMP_GT;
    case Op::MaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

scmp_arg_cmp to_libseccomp(const ArgCheck& a) {
  return scmp_arg_cmp{a.index, to_libseccomp(a.op), a.value, a.value_two};
}

// Owns a libseccomp filter context.
class Filter {
 public:
  explicit Filter(uint32_t default_action) : ctx_(seccomp_init(default_action)) {
    if (!ctx_) throw Error("seccomp_init failed");
  }
  ~Filter() { seccomp_release(ctx_); }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

void check_rc(int rc, const std::string& what) {
  if (rc < 0) throw SysError(what, "", -rc);
}

void add_architectures(const Filter& f, const std::vector<std::string>& arches) {
  for (const auto& name : arches) {
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) throw Error("seccomp: unknown architecture: " + name);
    int rc = seccomp_arch_add(f.get(), arch);
    if (rc != -EEXIST) check_rc(rc, "seccomp_arch_add(" + name + ")");
  }
}

// OCI/runc semantics: checks on different arguments must all hold (one
// rule, AND); several checks on the same argument are alternatives (one
// rule each, OR).
std::vector<std::vector<scmp_arg_cmp>> arg_groups(const std::vector<ArgCheck>& args) {
  std::map<unsigned, int> per_index;
  for (const auto& a : args) per_index[a.index]++;
  bool same_index_twice =
      std::any_of(per_index.begin(), per_index.end(), [](auto& kv) { return kv.second > 1; });
  std::vector<std::vector<scmp_arg_cmp>> groups;
  if (same_index_twice) {
    for (const auto& a : args) groups.push_back({to_libseccomp(a)});
  } else {
    std::vector<scmp_arg_cmp> all;
    for (const auto& a : args) all.push_back(to_libseccomp(a));
    groups.push_back(all);
  }
  return groups;
}

void add_rule(const Filter& f, const SyscallRule& r, uint32_t action) {
  for (const auto& name : r.names) {
    // A name this libseccomp or architecture does not know is skipped, as
    // runc does: profiles list syscalls of every architecture.
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;
    for (const auto& group : arg_groups(r.args)) {
      int rc = seccomp_rule_add_array(f.get(), action, nr, static_cast<unsigned>(group.size()),
                                      group.empty() ? nullptr : group.data());
      check_rc(rc, "seccomp_rule_add(" + name + ")");
    }
  }
}

}  // namespace

std::vector<SyscallRule> applicable_rules(const Profile& p, const std::vector<std::string>& kept_caps) {
  const std::string arch = native_go_arch();
  std::vector<SyscallRule> out;
  for (const auto& r : p.syscalls) {
    const Condition& ex = r.excludes;
    if (contains(ex.arches, arch)) continue;
    if (std::any_of(ex.caps.begin(), ex.caps.end(), [&](auto& c) { return cap_kept(kept_caps, c); }))
      continue;
    if (!ex.min_kernel.empty() && kernel_at_least(ex.min_kernel)) continue;
    const Condition& in = r.includes;
    if (!in.arches.empty() && !contains(in.arches, arch)) continue;
    if (!std::all_of(in.caps.begin(), in.caps.end(), [&](auto& c) { return cap_kept(kept_caps, c); }))
      continue;
    if (!in.min_kernel.empty() && !kernel_at_least(in.min_kernel)) continue;
    out.push_back(r);
  }
  return out;
}

// Build the libseccomp filter for a profile (rules for the kept capabilities).
static void build_filter(Filter& f, const Profile& p, const std::vector<std::string>& kept_caps) {
  const uint32_t default_action = to_libseccomp(p.default_action, p.default_errno, p.default_errno);
  // We set no_new_privs ourselves (set_no_new_privs), before this call.
  check_rc(seccomp_attr_set(f.get(), SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set(CTL_NNP)");
  // Level 2: the rules become a binary tree on the syscall number, so a
  // syscall meets ~9 comparisons instead of up to ~370 in a row. The kernel
  // runs the filter on every syscall: futex-heavy programs (thread pools)
  // notice the difference.
  check_rc(seccomp_attr_set(f.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "seccomp_attr_set(CTL_OPTIMIZE)");
  add_architectures(f, p.architectures);
  for (const auto& r : applicable_rules(p, kept_caps)) {
    uint32_t action = to_libseccomp(r.action, r.errno_ret, p.default_errno);
    // libseccomp refuses a rule whose action is the default one; it would be a no-op anyway.
    if (action == default_action) continue;
    add_rule(f, r, action);
  }
}

void load_profile(const Profile& p, const std::vector<std::string>& kept_caps) {
  Filter f(to_libseccomp(p.default_action, p.default_errno, p.default_errno));
  build_filter(f, p, kept_caps);
  // Raw kernel errno on failure instead of libseccomp's generic ECANCELED.
  check_rc(seccomp_attr_set(f.get(), SCMP_FLTATR_API_SYSRAWRC, 1), "seccomp_attr_set(API_SYSRAWRC)");
  int rc = seccomp_load(f.get());
  if (rc == -EACCES && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    throw Error(
        "seccomp_load: without no_new_privs the filter needs CAP_SYS_ADMIN: load it before dropping "
        "capabilities");
  check_rc(rc, "seccomp_load");
}

void read_seccomp_profile(Options& o) {
  if (o.privileged || o.seccomp.empty() || o.seccomp == "unconfined") return;
  if (!o.seccomp_profile_json.empty()) return;  // read when the container was created
  std::string text = fs::read_file(o.seccomp);
  parse_profile_json(text);  // throws a one-line Error when malformed
  o.seccomp_profile_json = std::move(text);
}

static Profile profile_of(const Options& o) {
  if (o.seccomp.empty()) return docker_default_profile();
  if (!o.seccomp_profile_json.empty()) return parse_profile_json(o.seccomp_profile_json);
  return load_profile_file(o.seccomp);
}

void apply_seccomp(const Options& o) {
  if (o.privileged || o.seccomp == "unconfined") return;
  load_profile(profile_of(o), resolve_capabilities(o));
}

std::string seccomp_compiler_fingerprint() {
  const scmp_version* v = seccomp_version();
  return "minictr-seccomp-v2 (binary tree) libseccomp " + std::to_string(v->major) + "." +
         std::to_string(v->minor) + "." + std::to_string(v->micro) + " api " +
         std::to_string(seccomp_api_get()) + "\n";
}

std::vector<sock_filter> compile_seccomp(const Options& o) {
  if (o.privileged || o.seccomp == "unconfined") return {};
  return compile_profile(profile_of(o), resolve_capabilities(o));
}

std::vector<sock_filter> compile_profile(const Profile& p, const std::vector<std::string>& kept_caps) {
  Filter f(to_libseccomp(p.default_action, p.default_errno, p.default_errno));
  build_filter(f, p, kept_caps);
  // libseccomp 2.5 exports the program only to a file descriptor.
  UniqueFd mem(check_sys(::memfd_create("seccomp-bpf", MFD_CLOEXEC), "memfd_create"));
  check_rc(seccomp_export_bpf(f.get(), mem.get()), "seccomp_export_bpf");
  off_t size = check_sys(::lseek(mem.get(), 0, SEEK_END), "lseek", "seccomp-bpf");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.data(), prog.size() * sizeof(sock_filter), 0) != static_cast<ssize_t>(size))
    throw_sys("pread", "seccomp-bpf");
  return prog;
}

void load_seccomp_program(const std::vector<sock_filter>& program) {
  if (program.empty()) return;
  sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  // Needs no_new_privs (set just before) or CAP_SYS_ADMIN.
  check_sys(::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0), "prctl(PR_SET_SECCOMP)");
}

}  // namespace mctr::security
