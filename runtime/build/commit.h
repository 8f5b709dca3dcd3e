// `commit`: a container's changes (its overlay upper dir) as one more layer
// on its image, with the container's command, env, workdir and user as the
// new image's config. The layer is written as build's RUN layers are
// (build/layer_tar.h), so deletions become whiteouts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mctr::build {

struct CommitOptions {
  std::string container;          // name or id
  std::vector<std::string> tags;  // REPO[:TAG], may be empty
  std::string message, author;
};

// Returns the new image's ID.
std::string commit_container(const std::filesystem::path& root, const CommitOptions& o);

}  // namespace mctr::build
