// `export`: a container's filesystem as one tar, as `docker export` writes
// it: the image's layers and the container's upper dir merged the way
// overlayfs shows them (whiteouts applied, none written), read from the
// layer dirs rather than a mount, so a stopped container exports too (a
// running one is frozen while it is read, as `commit` does).
//
// `import`: a tar (plain, gzip, bzip2, xz or zstd) as a one-layer image,
// with `--change` instructions (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER,
// VOLUME, WORKDIR, STOPSIGNAL) applied to its config.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mctr::build {

// Write the container's filesystem to `out` (a path; /proc/self/fd/1 for stdout).
void export_container(const std::filesystem::path& root, const std::string& container,
                      const std::filesystem::path& out);

struct ImportOptions {
  std::string source;  // a file, or "-" for stdin
  std::vector<std::string> tags;
  std::vector<std::string> changes;  // "CMD [\"/bin/sh\"]"
  std::string message;               // the history entry's comment
};

// Returns the new image's ID.
std::string import_tarball(const std::filesystem::path& root, const ImportOptions& o);

}  // namespace mctr::build
