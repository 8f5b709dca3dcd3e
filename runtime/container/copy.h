// `minictr cp`: copy files between a container and the host. Paths inside
// the container are resolved inside its mount namespace (so its symlinks
// cannot point us at the host's files); host paths are opened before.
// Only regular files, directories and symlinks are read or written: the
// container may turn any name into a device node or FIFO (copy_fs.h).
#pragma once

#include <string>

#include "container/state.h"

namespace mctr::container {

void copy_from_container(const Store& store, const std::string& id, const std::string& src_in_container,
                         const std::string& host_dst);
void copy_to_container(const Store& store, const std::string& id, const std::string& host_src,
                       const std::string& dst_in_container);

// `cp CTR:SRC -`: SRC (file or tree) as a tar stream on out_fd.
void copy_tar_from_container(const Store& store, const std::string& id, const std::string& src_in_container,
                             int out_fd);
// `cp - CTR:DIR`: extract the tar stream on in_fd into the existing directory DIR.
void copy_tar_to_container(const Store& store, const std::string& id, int in_fd,
                           const std::string& dir_in_container);

}  // namespace mctr::container
