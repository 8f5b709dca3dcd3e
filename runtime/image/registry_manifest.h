// The documents of the OCI distribution API that push and pull read and
// write, without any HTTP: image manifests and indexes (OCI, and Docker's
// schema 2 manifest and manifest list, the same shape under other media
// types), choosing a platform from an index, and the WWW-Authenticate
// challenge that asks for a bearer token.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mctr::image {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
}  // namespace media

// The Accept header of a manifest GET: every manifest and index type pull reads.
std::string manifest_accept_header();

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>", checked
  uint64_t size = 0;
  std::string os, architecture, variant;  // an index entry's platform
};

struct Manifest {
  bool is_index = false;
  std::string media_type;
  Descriptor config;                  // image manifest
  std::vector<Descriptor> layers;     // image manifest, lowest first
  std::vector<Descriptor> manifests;  // index
};

// Parse a manifest or index. The media type comes from the body's
// "mediaType" or else from the response's Content-Type. Throws mctr::Error
// for schema 1 manifests, unknown types, bad digests or layer types.
Manifest parse_manifest(const std::string& body, const std::string& content_type);

// The entry of an index for os/architecture (variant ignored unless the
// index has several for it: then "v8"-less or the first). Throws naming the
// platforms the index has when none fits.
Descriptor select_platform(const Manifest& index, const std::string& os, const std::string& architecture);

// A layer media type as OCI names it: Docker's rootfs.diff.tar.gzip is
// OCI's tar+gzip, the same bytes. Throws for types that are not layers.
std::string oci_layer_media_type(const std::string& media_type);

// An OCI image manifest for this config and these layers (compact JSON).
std::string make_oci_manifest(const Descriptor& config, const std::vector<Descriptor>& layers);

// `WWW-Authenticate: Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"`
struct AuthChallenge {
  std::string scheme;                         // "bearer", "basic" (lower case)
  std::map<std::string, std::string> params;  // keys lower case, values unquoted
};
std::optional<AuthChallenge> parse_www_authenticate(const std::string& header);

// The registry's error body ({"errors":[{"code":..., "message":...}]}) as
// "message (CODE, status)"; the HTTP status alone when there is none.
std::string registry_error_text(long status, const std::string& body);

}  // namespace mctr::image
