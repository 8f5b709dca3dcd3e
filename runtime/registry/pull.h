// `minictr pull`: an image from a registry into the store, by the OCI
// distribution API:
//   GET /v2/<name>/manifests/<tag|digest>   (an index: the linux/amd64 entry, GET again)
//   GET /v2/<name>/blobs/<config digest>    (verified, kept as the image's config)
//   GET /v2/<name>/blobs/<layer digest>...  (streamed to a file under the store's
//                                            tmp/, sha256 and size checked as it is written)
// then the layers are unpacked and the image recorded exactly as `load`
// does (image::Store::add_fetched_image). A failure leaves no layer behind.
#pragma once

#include <ostream>
#include <string>

#include "image/store.h"

namespace mctr::registry {

image::Image pull(image::Store& store, const std::string& ref, bool insecure, std::ostream& out,
                  std::ostream& warnings);

}  // namespace mctr::registry
