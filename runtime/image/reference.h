// Image references: "busybox", "busybox:1.36", "docker.io/library/busybox:latest",
// "localhost:5000/team/app:v1". minictr stores tags the way `docker images`
// shows them: the default registry prefix dropped, tag "latest" when none.
#pragma once

#include <string>

namespace mctr::image {

struct Reference {
  std::string name;  // "busybox", "team/app", "localhost:5000/team/app"
  std::string tag;   // "latest" when not given
  std::string str() const { return name + ":" + tag; }
};

// Parse "name[:tag][@digest]" (the digest part is ignored). Throws
// mctr::Error for names Docker would refuse (empty, upper case, spaces).
Reference parse_reference(const std::string& ref);

// Where a reference lives for push/pull (Docker's normalization):
//   "busybox"                         -> docker.io, library/busybox, tag latest
//   "localhost:5000/a/b:1@sha256:..." -> localhost:5000, a/b, tag 1, that digest
// The first part names a registry when it has a '.' or ':' or is "localhost".
struct RemoteReference {
  std::string registry;    // "localhost:5000", "docker.io"
  std::string repository;  // "a/b", "library/busybox"
  std::string tag;         // "" when only a digest was given
  std::string digest;      // "sha256:<hex>" or ""
  // The tag the image gets in the store ("localhost:5000/a/b:1"), "" for a digest alone.
  std::string store_tag() const;
  // The tag or digest the manifest is asked for by.
  std::string manifest_ref() const { return digest.empty() ? tag : digest; }
};
RemoteReference parse_remote_reference(const std::string& ref);

// True when `s` can be a tag on its own ("latest", "v1.2"), not a full name.
bool is_bare_tag(const std::string& s);

}  // namespace mctr::image
