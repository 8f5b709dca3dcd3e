// `minictr build`: a Dockerfile and a context -> an image in the store.
//
// Each stage starts from its base (a stored image, an archive, an earlier
// stage, or scratch) and runs its instructions in order:
//   RUN         in a container on the stage's layers; its upper dir -> a layer
//   COPY, ADD   a layer straight from the context (or another stage/image)
//   the rest    edit the image config only (an "empty_layer" history entry)
// Only the target stage (default: the last) and the stages it needs are built.
// RUN, COPY and ADD go through the cache (build/cache.h); the result is the
// same image ID for the same Dockerfile, context and SOURCE_DATE_EPOCH.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace mctr::build {

struct BuildOptions {
  std::filesystem::path context;
  std::filesystem::path dockerfile;  // "" = CONTEXT/Dockerfile
  std::vector<std::string> tags;     // NAME[:TAG]
  std::map<std::string, std::string> build_args;
  std::string target;  // stage name or index; "" = the last stage
  bool no_cache = false;
  int64_t source_date_epoch = 0;  // every timestamp of the image
};

struct BuildResult {
  std::string image_id;
  int steps = 0, cached = 0;
};

// Throws mctr::Error naming the Dockerfile line on a failed step (exit code
// 1, as docker build), or on a syntax error.
BuildResult build_image(const std::filesystem::path& root, const BuildOptions& o, std::ostream& out);

// "1m30s", "500ms", "10s" -> nanoseconds (HEALTHCHECK's options).
int64_t parse_duration(const std::string& s);

}  // namespace mctr::build
