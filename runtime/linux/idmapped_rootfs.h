// The root filesystem of a container in a user namespace (run --userns,
// docs/01-namespaces.md), built by the host's root for a root that is not.
//
// The container's root is host uid H (its range's first id). Three things it
// cannot do for itself, so the supervisor does them and hands the result
// over as one detached mount tree (open_tree(OPEN_TREE_CLONE)):
//  - idmapped layers: each image layer (owned by host uid 0) bind-mounted
//    with MOUNT_ATTR_IDMAP through the container's user namespace, so its
//    files show as H on the host and as root inside; only the host's root
//    may idmap a filesystem the host mounted. The layers stay shared and
//    unchanged on disk (no chown'ed copy per range, as dockerd makes).
//  - the overlay on top of them: mounted from inside the user namespace it
//    could not read the layers' trusted.overlay.* xattrs (opaque dirs).
//  - the /dev tmpfs: the init fills it before it becomes the namespace's
//    root, and a tmpfs of the user namespace refuses files by unmapped ids.
// The idmapped mounts exist only in a mount namespace private to one thread
// for the time of the build: the host's mount table never shows them.
#pragma once

#include <cstdint>

#include "linux/rootfs.h"
#include "util/fd.h"

namespace mctr::rootfs {

// The overlay of `s` over idmapped layers (through `userns_fd`, the
// container's /proc/PID/ns/user with its maps written), upper/ and work/
// (owned by the mapped root already), with a /dev tmpfs owned by
// root_uid:root_gid mounted in it. Throws Error naming --userns when the
// kernel refuses an idmapped mount: Linux < 5.19 for overlayfs layers, or a
// filesystem without idmapped mounts (tmpfs before 6.3, ext2).
UniqueFd build_idmapped_tree(const Spec& s, int userns_fd, uint32_t root_uid, uint32_t root_gid);

// In the init: the tree at s.mount_point (move_mount(2)).
void attach_tree(int tree_fd, const Spec& s);

}  // namespace mctr::rootfs
