// What the supervisor and the init take from the bundle's config.json: the
// runtime-spec fields turned into the values the linux/ rooms work with
// (bind mounts, cgroup limits, device rules, the user, the capabilities).
// The mirror image of spec_from_config (bundle.h).
#pragma once

#include <linux/filter.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "container/etc_files.h"
#include "container/exec.h"
#include "container/network_mode.h"
#include "linux/cgroup/devices.h"
#include "linux/cgroup/manager.h"
#include "linux/rootfs.h"
#include "linux/security/seccomp_profile.h"
#include "linux/security/userns.h"
#include "linux/user.h"
#include "oci/spec.h"

namespace mctr::container {

// Refuse, before anything is made, what the bundle asks and minictr cannot
// do yet (joining a namespace by path, a time namespace, a mount other than
// Docker's standard ones and binds, other masked paths, hooks, sysctls,
// rlimits it does not know), naming the field. A bundle spec_from_config
// wrote always passes.
void check_supported(const oci::Spec& spec);

// linux.namespaces has a "user" namespace (run --userns): its id mappings.
struct IdMaps {
  std::vector<security::IdMapping> uids, gids;
};
std::optional<IdMaps> user_namespace_maps(const oci::Spec& spec);

// linux.namespaces has a new network namespace (else the host's network).
bool has_new_network_namespace(const oci::Spec& spec);

// The mounts of type "bind": volumes and the /etc files ("ro" -> read-only).
std::vector<rootfs::BindMount> bind_mounts(const oci::Spec& spec);
// /sys/fs/cgroup is mounted read-only (its mount has "ro").
bool cgroups_read_only(const oci::Spec& spec);
// linux.maskedPaths/readonlyPaths are Docker's lists (false: both empty, as
// with --privileged; check_supported refuses any other lists).
bool masks_paths(const oci::Spec& spec);

// linux.resources as cgroup limits (quota/period -> --cpus).
cgroup::Resources cgroup_resources(const oci::Spec& spec);
// The allow rules of linux.resources.devices, after the leading deny-all.
std::vector<cgroup::DeviceRule> device_allow_rules(const oci::Spec& spec);

// process.capabilities.bounding without "CAP_" (what drop_capabilities keeps).
std::vector<std::string> kept_capabilities(const oci::Process& p);

// The user to become, in the container (after pivot_root: its /etc/passwd):
// the -u text kept in the org.minictr.user annotation is looked up as
// dockerd does at start (gid, supplementary groups, HOME); otherwise
// process.user's numbers, with HOME from the passwd entry of that uid.
user::Identity resolve_identity(const oci::Spec& spec);
// process.user's numbers, with HOME from the passwd entry of that uid ("/"
// without one, as runc; "/root" for root).
user::Identity identity_of(const oci::User& u);

// `exec`'s process in the running container, as dockerd makes it from the
// container's (the bundle's process): -e sets a variable (replacing the
// container's value), TERM=xterm goes with exec's -t, not the container's,
// -w sets the cwd, --privileged keeps every capability without
// no_new_privs (and gets no seccomp filter: the caller loads none). The
// user stays the container's: -u is looked up inside (exec_identity).
oci::Process exec_process(const oci::Spec& spec, const ExecOptions& o);
// Who `exec` runs as, in the container: `user` (exec -u) as dockerd looks
// it up, else the container's own user (resolve_identity).
user::Identity exec_identity(const oci::Spec& spec, const std::string& user);

// linux.seccomp as JSON text (config.json's object, compact), and read
// back as a profile by the one parser of profiles (parse_profile_json),
// for the init here and for minictr-runc's.
std::string seccomp_json(const oci::Seccomp& s);
security::Profile seccomp_profile(const oci::Seccomp& s);
// The BPF program of linux.seccomp, for the bounding capabilities of
// process.capabilities; empty without linux.seccomp (--privileged,
// seccomp=unconfined): no filter. Read from the cache in `cache_dir` when
// compiled before for the same text and libseccomp; else compiled and stored.
std::vector<sock_filter> seccomp_program(const oci::Spec& spec, const std::filesystem::path& cache_dir);

// The last component of linux.cgroupsPath ("/minictr/ID" -> "ID"): how the
// container's own group reads in /proc/self/cgroup (rootfs::read_own_cgroups).
std::string cgroup_leaf(const oci::Spec& spec);

// The org.minictr.network annotation (Docker's NetworkMode). Without it (a
// bundle minictr did not write), the namespaces tell what they can: a new
// network namespace is "none", the runtime's is "host".
NetworkMode network_mode(const oci::Spec& spec);
// Whether the init writes /etc/hostname, hosts and resolv.conf itself: not
// on a bridge, where the supervisor writes them once it knows the address.
bool init_writes_etc_files(const oci::Spec& spec);
// What those files say, from the bundle: hostname, the name annotation,
// the network mode, and with a user namespace the host ids of its root.
// (The name is the one at create: `rename` leaves the bundle alone. Only an
// address line shows it, and the init writes none.)
EtcFiles etc_files_of(const oci::Spec& spec);

// setrlimit(2) for each of process.rlimits.
void apply_rlimits(const std::vector<oci::Rlimit>& rlimits);

}  // namespace mctr::container
