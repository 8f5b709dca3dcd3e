// COPY and ADD: a layer made straight from the files, without a container.
//
// The stage's own files are seen through a read-only overlay of its layers
// (existing directories keep their owner and mode, symlinked destinations
// such as /bin -> usr/bin are followed, --chown names are looked up in its
// /etc/passwd and /etc/group); so are the files of another stage or image
// for --from. Both are mounted in a child process with its own mount
// namespace: when it exits, the kernel drops the mounts, even if it was killed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "build/context.h"

namespace mctr::build {

struct CopySource {
  std::filesystem::path host;  // context file, or the dir an ADD'ed tar was unpacked to
  std::string name;            // its base name at the destination
  std::string context_rel;     // its path in the context (.dockerignore applies below it)
  bool unpack = false;         // ADD of a local tar: its content is copied
};

struct CopySpec {
  std::string keyword = "COPY";           // for messages
  std::vector<std::string> stage_layers;  // the stage's layer dirs, lowest first
  std::vector<CopySource> sources;        // from the context (or unpacked tars)
  // --from: paths (wildcards in the last component) in these layers instead.
  std::optional<std::vector<std::string>> from_layers;
  std::vector<std::string> from_paths;
  const Context* context = nullptr;  // .dockerignore applies inside copied dirs
  std::string dest;                  // absolute; a trailing "/" means a directory
  bool dest_is_dir = false;          // several sources or wildcards
  std::string chown;                 // --chown=user[:group]
};

// Write the layer tar of the copy to `out_tar` (scratch space: `work`, an
// empty directory); returns its diffID.
std::string write_copy_layer(const CopySpec& spec, const std::filesystem::path& work,
                             const std::filesystem::path& out_tar, int64_t mtime);

// ADD: is this file a tar (plain or compressed) that ADD unpacks?
bool is_tar_archive(const std::filesystem::path& p);

}  // namespace mctr::build
