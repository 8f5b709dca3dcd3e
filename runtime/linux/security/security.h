// Security settings applied in the container's init just before execve:
// capabilities (Docker's default 14), no_new_privs, seccomp; masked and
// read-only paths after pivot_root; the device allow-list on the cgroup
// (devices.h).
#pragma once

#include <linux/filter.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mctr::security {

struct Options {
  std::vector<std::string> cap_add;  // "NET_ADMIN" or "CAP_NET_ADMIN", "ALL"
  std::vector<std::string> cap_drop;
  bool privileged = false;
  std::string seccomp;  // "" = Docker's default, "unconfined", or a JSON profile path
  bool no_new_privs = true;
  // The JSON text of the `seccomp` file, read by read_seccomp_profile() on
  // the host when the container is created and kept in its config.json:
  // start and exec load this copy, never a file read again later.
  std::string seccomp_profile_json;
};

// Docker's default capability names (without CAP_), in a stable order.
const std::vector<std::string>& default_capabilities();
// Every capability the kernel knows and our bounding set still holds
// (what --privileged and --cap-add ALL give), without CAP_, CHOWN first.
std::vector<std::string> all_capabilities();
// The capabilities the container keeps, after --cap-add/--cap-drop/--privileged
// (Docker's rules: "ALL" in cap_add keeps everything but cap_drop; "ALL" in
// cap_drop keeps only cap_add). Names come back upper case without CAP_.
// Throws mctr::Error on an unknown capability name.
std::vector<std::string> resolve_capabilities(const Options& o);
// "net_admin", "CAP_NET_ADMIN" -> "NET_ADMIN"; throws mctr::Error if unknown.
std::string normalize_capability(const std::string& name);

// Child side, in this order, after pivot_root and before execve:
void mask_paths(bool privileged);  // Docker's masked + read-only /proc, /sys paths
// A bundle's linux.readonlyPaths (each bind-mounted onto itself, remounted
// read-only), then its linux.maskedPaths (a file behind /dev/null, a
// directory behind an empty read-only tmpfs); paths this kernel lacks are skipped.
void mask_paths(const std::vector<std::string>& masked, const std::vector<std::string>& readonly);
// The flags of the mount `path` lives on that a bind remount must keep: a
// remount may not clear nosuid/nodev/noexec/atime flags locked on it (EPERM).
unsigned long locked_mount_flags(const std::string& path);
// Bounding, permitted, effective set to `keep`; inheritable and ambient
// emptied (Docker >= 20.10.14, CVE-2022-24769).
// Works as root, or after a setuid away from root if PR_SET_KEEPCAPS was set
// before it (see keep_capabilities_across_setuid).
void drop_capabilities(const std::vector<std::string>& keep);
void set_no_new_privs();
// Loads the filter (no-op when unconfined or privileged). The kernel only
// accepts it from a process with no_new_privs set or with CAP_SYS_ADMIN: with
// no_new_privs=false, call it BEFORE drop_capabilities (as runc does; the
// default profile allows capset, prctl, setgroups and setresuid).
void apply_seccomp(const Options& o);

// The same filter in two steps, so the slow part runs before clone():
// compile_seccomp() turns the profile into the BPF program (libseccomp takes
// ~35 ms for Docker's profile); load_seccomp_program() in the child only hands
// it to the kernel. An empty program means "no filter" (unconfined, privileged).
std::vector<sock_filter> compile_seccomp(const Options& o);
void load_seccomp_program(const std::vector<sock_filter>& program);

// A program behind a cache: the one compiled for the inputs `key` names in
// full (a profile's text, the kept capabilities, and
// seccomp_compiler_fingerprint()) is read back from cache_dir/<hash>.bpf
// instead of asking libseccomp again (`compile`), which saves most of the
// start-up time of a short container. A missing, unreadable or malformed
// cache file is compiled again and rewritten; the cache is only an optimisation.
std::vector<sock_filter> compile_seccomp_cached(const std::string& key,
                                                const std::filesystem::path& cache_dir,
                                                const std::function<std::vector<sock_filter>()>& compile);
// What a compiled program depends on besides its rules: libseccomp's
// version and API level (a newer libseccomp may emit another program).
std::string seccomp_compiler_fingerprint();

// Host side, at create: when o.seccomp names a file and its text is not
// read yet, read it into o.seccomp_profile_json and check it parses, so a
// malformed profile fails `run` with one line before any container exists.
void read_seccomp_profile(Options& o);

// Call before setuid()/setresuid() to a non-root user when drop_capabilities
// runs afterwards: without it the kernel clears the permitted set on setuid.
void keep_capabilities_across_setuid();

// The paths Docker masks / makes read-only (exposed for tests and docs).
const std::vector<std::string>& masked_paths();
const std::vector<std::string>& readonly_paths();

}  // namespace mctr::security
