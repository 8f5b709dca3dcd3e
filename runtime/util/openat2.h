// openat2(2): the one place minictr calls it. Every path that a container
// (or an image, or a build context) controls is opened through here, with
// the kernel doing the containment instead of a userspace path walk.
#pragma once

#include <linux/openat2.h>

#include <cstdint>
#include <string>

#include "util/fd.h"

namespace mctr::fs {

// openat2(dirfd, path) under the kernel's `resolve` rules (RESOLVE_IN_ROOT,
// RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS, ...); O_CLOEXEC is always added and
// "" means ".". EINTR is retried, and so is EAGAIN: with RESOLVE_IN_ROOT or
// RESOLVE_BENEATH the kernel returns it when a rename or mount anywhere on
// the host raced its walk of a ".." (it can then not prove the walk stayed
// inside) and asks the caller to try again. An empty fd with errno set on
// failure, like open(2).
UniqueFd openat2_retrying(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve);

// `rel` (absolute or not) looked up as if `root_fd` were "/": the tree's own
// symlinks (even "/etc -> /host/etc", even "../../..") and ".." resolve
// inside it, never above. Magic links (/proc/PID/fd/N, /proc/self/root) are
// refused: one of them would take the lookup to whatever a container process
// has open. `extra_resolve` adds rules, e.g. RESOLVE_NO_XDEV.
UniqueFd try_open_in_root(int root_fd, const std::string& rel, uint64_t flags, uint64_t extra_resolve = 0);
// The same; throws SysError("openat2", rel) on failure.
UniqueFd open_in_root(int root_fd, const std::string& rel, uint64_t flags, uint64_t extra_resolve = 0);

}  // namespace mctr::fs
