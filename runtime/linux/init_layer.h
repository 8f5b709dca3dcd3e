// The init layer (Docker has one too): the mount points every container
// needs -- /etc/hostname, /etc/hosts, /etc/resolv.conf, /proc, /sys, /dev --
// as one more read-only lower layer on top of the image's. Without it, a
// start creates each missing one in the container's upper dir on the host's
// disk (and copies /etc up first): four to five files per start.
//
// One init layer serves every image whose /etc, /proc, /sys and /dev have
// the same owner and mode: overlayfs shows a directory with the attributes
// of its topmost layer, so the init layer copies them from the image.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mctr::rootfs {

// The init layer for an image with `layer_dirs` (lowest first), made once
// under `cache_dir`. nullopt when one of those paths is not a directory in
// the image (a symlink, say), which a directory on top would hide; the
// mount points are then made in the upper dir as before.
std::optional<std::filesystem::path> init_layer(const std::filesystem::path& cache_dir,
                                                const std::vector<std::string>& layer_dirs);

}  // namespace mctr::rootfs
