// The file operations `minictr cp` is built from. Each one works on a name in
// a directory fd and never opens an existing inode that is not a directory
// or a regular file already checked through an O_PATH fd: the other side of a
// copy may be a container that turns any name into a device node (mknod is
// allowed in a default container) or a FIFO at any moment, and minictr, as
// host root outside the container's device cgroup, could open those.
//
//  - Reading: open O_PATH|O_NOFOLLOW, fstat, and only for a regular file
//    reopen that same inode through the host's /proc/self/fd.
//  - Writing: a new file (or symlink) under a fresh temporary name
//    (O_CREAT|O_EXCL), then renameat over the destination name. Whatever was
//    there (a device, a FIFO, a symlink) is replaced, never opened: Docker
//    replaces too.
//  - Directories: mkdirat, or open an existing one with O_DIRECTORY|O_NOFOLLOW
//    (the kernel checks O_DIRECTORY before it calls any driver's open).
#pragma once

#include <sys/stat.h>

#include <array>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mctr::container::copyfs {

// Open `name` in `dirfd` for reading if it is a regular file. `st` receives
// its lstat. Returns an empty fd (and no error) when it is anything else.
// `proc_fd` is the host's /proc, opened before entering the container.
UniqueFd open_regular(int dirfd, const std::string& name, int proc_fd, struct stat& st);

// What a copied entry keeps of its source.
struct Meta {
  mode_t mode = 0644;  // permission bits (07777)
  uid_t uid = 0;
  gid_t gid = 0;
  std::array<timespec, 2> times{timespec{0, UTIME_OMIT}, timespec{0, UTIME_OMIT}};  // atime, mtime
  static Meta of(const struct stat& st);
};

// A regular file being written under a temporary name in `dirfd`; commit()
// gives it its metadata and renames it over `name`. Destroyed uncommitted,
// it removes the temporary file: the destination is untouched.
class NewFile {
 public:
  NewFile(int dirfd, std::string name);
  ~NewFile();
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;

  int fd() const { return fd_.get(); }
  void write(const void* data, size_t size);
  void commit(const Meta& meta);

 private:
  int dirfd_;
  std::string name_, tmp_;
  UniqueFd fd_;
};

// Replace `name` in `dirfd` by a symlink to `target` (temporary name, rename).
void replace_with_symlink(int dirfd, const std::string& name, const std::string& target, const Meta& meta);

// Replace `name` in `dirfd` by a hard link to the inode `target_fd` pins
// (the caller checked it is a regular file through that fd).
void replace_with_hardlink(int target_fd, int dirfd, const std::string& name);

// A directory `name` in `dirfd`, opened: the existing one, or a new one.
// Something else at `name` is replaced when `replace` is set (as Docker's
// extraction does inside a copied tree), else it is an error.
UniqueFd make_dir(int dirfd, const std::string& name, bool replace);

// Owner, then mode (chown clears setuid/setgid), then times, on an open fd.
void set_meta(int fd, const Meta& meta, const std::string& what);

// Copy all of `from` into `to` until EOF.
void copy_data(int from, NewFile& to, const std::string& what);

// The names in the open directory `dirfd`, without "." and "..", sorted.
std::vector<std::string> list_children(int dirfd, const std::string& what);

// "character device", "FIFO"... for messages about skipped entries.
const char* kind_of(mode_t mode);
// Named as the thing to copy: "PATH is a FIFO: only regular files, ..." (throws).
[[noreturn]] void refuse_special(const std::string& path, mode_t mode);
// Met inside a tree: "minictr cp: skipping PATH: a FIFO" on stderr.
void warn_skipped(const std::string& path, mode_t mode);

}  // namespace mctr::container::copyfs
