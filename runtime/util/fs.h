// Small file helpers that throw SysError with the path on failure.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace mctr::fs {

std::string read_file(const std::filesystem::path& p);
std::optional<std::string> read_file_if_exists(const std::filesystem::path& p);

// Read a file that a container controls (its /etc/passwd, /etc/group) so
// that it can neither stall nor flood us: the path is resolved with openat2
// without magic links (/proc/self/fd/N cannot point us at one of our own fds),
// inside `root_fd` as if it were "/" (RESOLVE_IN_ROOT) unless root_fd is
// AT_FDCWD (we already run in the container's root); the file must be a
// regular file, checked through an O_PATH fd before it is opened for reading
// (a FIFO would block open(2) and read(2) forever, a device's open has side
// effects), and at most `max_bytes` long. Symlinks are followed: inside the
// container's root they cannot lead out of it. nullopt when it does not exist;
// Error otherwise ("/etc/passwd: not a regular file (a FIFO)").
inline constexpr size_t kUntrustedFileMax = 4u << 20;  // 4 MiB
std::optional<std::string> read_untrusted_file(const std::filesystem::path& p, int root_fd,
                                               size_t max_bytes = kUntrustedFileMax);
// Write by truncating the existing file (for cgroup and /proc files).
void write_file(const std::filesystem::path& p, const std::string& data);
// Write to a temp file in the same directory, rename over p: readers see the
// old or the new content, never a torn one. `durable` adds an fsync first, so
// the new content also survives a power cut (it costs ~5 ms on ext4).
void write_file_atomic(const std::filesystem::path& p, const std::string& data, mode_t mode = 0644,
                       bool durable = true);
void mkdir_p(const std::filesystem::path& p, mode_t mode = 0755);

// `chattr +T dir` (FS_TOPDIR_FL) on ext2/3/4: the Orlov allocator then puts
// each new subdirectory in a block group of its own choosing, as for a
// directory under "/", instead of next to `dir`. Returns false where the
// filesystem has no such flag (tmpfs, xfs, btrfs...): a hint, nothing more.
bool mark_top_directory(const std::filesystem::path& dir);

// Freeing a file's blocks can be slow: on a filesystem mounted with
// `discard` (usual on VMs, as on this project's build host) each free waits
// for a TRIM of the disk, 1-3 ms. A rename over a file, or its unlink, frees
// it at once, unless the file is still open somewhere. While deferring is on,
// write_file_atomic and unlink_deferred keep the file they replace or remove
// open; release_deferred_frees() closes them, and the kernel frees the blocks
// then. The supervisor defers while the container starts and stops, and
// releases after it has reported the exit.
void set_defer_frees(bool on);
void keep_open_until_released(const std::filesystem::path& p);  // no-op unless deferring
void unlink_deferred(const std::filesystem::path& p);           // unlink; ENOENT is fine
void release_deferred_frees();
// Remove a tree without following symlinks and without crossing into
// other mounts (a leftover bind mount must not lose the host's files).
void remove_tree(const std::filesystem::path& p);
// Trim trailing whitespace/newlines (kernel files end in "\n").
std::string trim(std::string s);

}  // namespace mctr::fs
