// The bundle's mounts, made as runc makes them: in the order config.json
// lists them, each with its own options, under the root filesystem the
// caller prepared (podman and containerd mount their overlay themselves and
// hand runc a directory). Then the default devices, the masked and
// read-only paths, a read-only root.
#pragma once

#include <string>
#include <vector>

#include "oci/spec.h"

namespace mctr::runc {

// mount(8)-style options split the way mount(2) takes them.
struct MountOptions {
  unsigned long flags = 0;                 // MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...
  unsigned long clear = 0;                 // "rw", "suid", "dev", ... (for a bind remount)
  std::vector<unsigned long> propagation;  // MS_PRIVATE|MS_REC, MS_SLAVE, ... in order
  std::string data;                        // the rest: "mode=755,size=65536k,newinstance"
};
// Throws Error naming an option minictr cannot honour (idmap).
MountOptions parse_mount_options(const std::vector<std::string>& options);

// A bind mount: type "bind", or "bind"/"rbind" among the options.
bool is_bind_mount(const oci::Mount& m);

struct MountPlan {
  bool cgroup_mount = false;  // a "cgroup"/"cgroup2" mount at /sys/fs/cgroup was asked for
  bool cgroup_read_only = true;
  bool dev_is_bind = false;  // /dev comes from the host: make no device nodes
};

// Where the init builds the root: in a mount namespace of the container's
// own (new, or joined by path), or in the runtime's own one, the host's,
// when linux.namespaces lists no mount namespace at all (as runc allows).
enum class MountNamespace { kContainers, kHosts };

// Before pivot_root, as the init: make `/` a slave (or linux.rootfsPropagation)
// so nothing we mount reaches the host, bind the rootfs on itself (pivot_root
// needs a mount point), then every mount of the spec but cgroups (see
// mount_cgroups), then the default devices. In the host's namespace `/` is
// left alone (changing it would change the host) and every mount made here
// stays on the host until unmount_host_mounts.
MountPlan mount_rootfs(const oci::Spec& spec, const std::string& rootfs, MountNamespace where);

// What a container without a mount namespace left on the host: every mount
// at or below its rootfs, deepest first (lazily, as `umount -l`).
void unmount_host_mounts(const std::string& rootfs);

// /sys/fs/cgroup without a cgroup namespace, before pivot_root: the host's
// directories of the container's group (`group` relative to each hierarchy)
// bound on a tmpfs, as runc does. (With a cgroup namespace the init mounts
// fresh cgroup filesystems after pivot_root: rootfs::mount_own_cgroups.)
void bind_host_cgroups(const std::string& rootfs, const std::string& group, bool read_only);

// linux.rootfsPropagation applied to "/" once in the new root (shared, slave...).
void set_root_propagation(const std::string& propagation);

}  // namespace mctr::runc
