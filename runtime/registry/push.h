// `minictr push`: an image of the store to a registry.
//   HEAD /v2/<name>/blobs/<digest>           (there already: not sent again)
//   POST /v2/<name>/blobs/uploads/           -> Location
//   PUT  <Location>&digest=<digest>          (the whole blob; the registry checks the digest)
//   PUT  /v2/<name>/manifests/<tag>          (an OCI image manifest)
// Layers go as the blobs they came in (kept by load and pull), so their
// digests and the image ID stay those of the source; a layer made here
// (build, commit, import) is written again as a tar (build/layer_tar.h),
// which gives back its very bytes.
//
// Why an OCI manifest rather than Docker's schema 2: it is the standard
// (image-spec 1.0) every current registry, docker, podman and containerd
// read; the two carry the same fields, and Docker's layer types map
// one-to-one onto OCI's (the same bytes). Only registries older than
// distribution 2.7 (2018) refuse it.
#pragma once

#include <ostream>
#include <string>

#include "image/store.h"

namespace mctr::registry {

void push(image::Store& store, const std::string& ref, bool insecure, std::ostream& out,
          std::ostream& warnings);

}  // namespace mctr::registry
