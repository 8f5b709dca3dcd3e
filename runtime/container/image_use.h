// Images and their layers as the containers use them: what `rmi`,
// `image prune` and `system prune` may remove, by Docker's rules.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "container/state.h"
#include "image/store.h"

namespace mctr::container {

// The layers containers use (dir names, i.e. diffID hexes): never deleted
// under a container (its overlay's lower dirs).
std::set<std::string> layers_in_use(const Store& containers);

// docker rmi REF (daemon/images/image_delete.go): a running container using
// the image is a hard conflict, never forced; a stopped one, or an ID that
// names an image tagged in several repositories, is a soft conflict that
// `force` overrides. Forced under a stopped container, the image is untagged
// and deleted, but its layers stay for the container until it is removed and
// `system prune` finds them unused. Throws Docker's conflict messages.
image::RemoveResult remove_image(image::Store& images, const Store& containers, const std::string& ref,
                                 bool force);

// docker image prune [-a]: the dangling images (no tag), or with `all` every
// image no container was made from.
struct ImagePrune {
  std::vector<std::string> lines;  // "untagged: ..." / "deleted: sha256:..."
  uint64_t reclaimed = 0;          // bytes of the deleted layers
};
ImagePrune prune_images(image::Store& images, const Store& containers, bool all);

}  // namespace mctr::container
