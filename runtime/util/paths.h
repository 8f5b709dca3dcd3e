// Where minictr keeps its state. Default /var/lib/minictr; `--root DIR` or
// MINICTR_ROOT override it (tests always use a private temp root).
#pragma once

#include <filesystem>
#include <string>

namespace mctr {

// Resolve the state root from the --root flag (may be empty) and the environment.
std::filesystem::path resolve_root(const std::string& flag_value);

// A directory only its owner (root) may enter: made 0700, or an existing
// one's group and other bits taken away (chmod). The state root holds image
// layers and volume contents (setuid binaries, device nodes) that no other
// host user may reach (CVE-2021-41091: Docker's root is 0710 since 20.10.9).
// The kernel's overlay and bind mounts resolve their paths as root when
// they are made, so no container process ever needs to pass through here.
void make_private_dir(const std::filesystem::path& dir);

struct StorePaths {
  std::filesystem::path root;
  std::filesystem::path images() const { return root / "images"; }
  std::filesystem::path layers() const { return root / "layers"; }
  std::filesystem::path blobs() const { return root / "blobs"; }
  std::filesystem::path containers() const { return root / "containers"; }
  std::filesystem::path volumes() const { return root / "volumes"; }
  std::filesystem::path network() const { return root / "network"; }
  std::filesystem::path tmp() const { return root / "tmp"; }
  std::filesystem::path locks() const { return root / "locks"; }
  std::filesystem::path seccomp_cache() const { return root / "cache" / "seccomp"; }
  std::filesystem::path init_layers() const { return root / "cache" / "init-layers"; }
  // Where containers' directories are made before they move to containers/
  // (container::Store::create): one subdirectory per ext4 block group used.
  std::filesystem::path container_nurseries() const { return root / "cache" / "nurseries"; }
  // The empty directory every container mounts its root filesystem on, each
  // in its own mount namespace (rootfs::Spec::mount_point).
  std::filesystem::path rootfs_mount_point() const { return root / "rootfs"; }
};

}  // namespace mctr
