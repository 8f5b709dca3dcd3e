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

// True when `s` can be a tag on its own ("latest", "v1.2"), not a full name.
bool is_bare_tag(const std::string& s);

}  // namespace mctr::image
