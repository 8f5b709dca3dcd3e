// `minictr cp CTR:PATH -` and `minictr cp - CTR:DIR`: a tar stream on
// stdout/stdin, as `docker cp` does. Both sides keep the rules of copy_fs.h:
// only regular files, directories, symlinks (and hard links between regular
// files) are read or made; device nodes, FIFOs and sockets are skipped with a
// warning on stderr.
#pragma once

#include <string>

namespace mctr::container {

// Write the entry `name` of `dirfd` (a file, a symlink or a whole tree) to
// `out_fd` as a tar stream whose entries start with `name`, as Docker's do.
// `shown`: the source path for messages. `proc_fd`: the host's /proc
// (copy_fs.h). On an error the stream is cut short, without a tar trailer.
void write_tar(int dirfd, const std::string& name, const std::string& shown, int out_fd, int proc_fd);

// Extract the tar stream read from `in_fd` into the directory `destfd`.
// Entry names resolve below `destfd` as if it were "/" (absolute names and
// symlinks cannot leave it); names with ".." are skipped, as GNU tar does.
void extract_tar(int in_fd, int destfd);

}  // namespace mctr::container
