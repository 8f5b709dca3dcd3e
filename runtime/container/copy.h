// `minictr cp`: copy files between a container and the host. Paths inside
// the container are resolved inside its mount namespace (so its symlinks
// cannot point us at the host's files); host paths are opened before.
#pragma once

#include <string>

#include "container/state.h"

namespace mctr::container {

void copy_from_container(const Store& store, const std::string& id, const std::string& src_in_container,
                         const std::string& host_dst);
void copy_to_container(const Store& store, const std::string& id, const std::string& host_src,
                       const std::string& dst_in_container);

}  // namespace mctr::container
