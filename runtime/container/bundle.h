// The container's OCI bundle: <container dir>/bundle/config.json, the
// runtime-spec config that `run`/`create` make from the image config and the
// flags (as dockerd/containerd do before they call runc), and that the
// supervisor and the init run from. The private config.json next to it keeps
// what is no runtime's business: name, image, ports, log options.
#pragma once

#include <filesystem>

#include "container/config.h"
#include "oci/spec.h"

namespace mctr::container {

// Annotations of our own (the spec's reverse-domain convention).
inline constexpr const char* kAnnotationName = "org.minictr.container.name";
inline constexpr const char* kAnnotationImage = "org.minictr.image";
// The overlay the init mounts at root.path (lower dirs top first, as overlayfs lists them).
inline constexpr const char* kAnnotationLowerDirs = "org.minictr.rootfs.lowerdir";
inline constexpr const char* kAnnotationUpperDir = "org.minictr.rootfs.upperdir";
// A -u NAME (or a uid without a group) is looked up in the container's own
// /etc/passwd and /etc/group at each start, as dockerd does; until then
// process.user holds only what the text itself says (0 otherwise).
inline constexpr const char* kAnnotationUser = "org.minictr.user";
// Docker's NetworkMode ("bridge", "none", "host", "container:ID", a user
// network's name). The namespaces alone cannot tell "none" from a bridge,
// and the init needs to: on a bridge the supervisor writes /etc/hosts once
// it knows the address; otherwise the init writes the /etc files itself.
inline constexpr const char* kAnnotationNetwork = "org.minictr.network";

// The runtime-spec config a container runs with: everything is taken from
// `cfg` (and Docker's fixed defaults), nothing from the host but the
// kernel facts the seccomp rules depend on and, for --privileged, our
// bounding set. `container_dir` holds upper/ and the /etc files;
// `rootfs` is the directory the overlay is mounted on.
oci::Spec spec_from_config(const Config& cfg, const std::filesystem::path& container_dir,
                           const std::filesystem::path& rootfs);

std::filesystem::path bundle_dir(const std::filesystem::path& container_dir);

// run --init: where the init is mounted (read-only) in the container and
// put in front of its command, as Docker does with tini.
inline constexpr const char* kInitPath = "/sbin/docker-init";
// minictr-init on the host: $MINICTR_INIT, else next to the running minictr
// (both are built into build/runtime/ and installed into one bin/).
// Throws Error if it is not there.
std::filesystem::path init_binary();

// Write <container_dir>/bundle/config.json (fsync with `durable`).
void write_bundle(const std::filesystem::path& container_dir, const oci::Spec& spec, bool durable);
// The bundle's spec, read and checked.
oci::Spec read_bundle(const std::filesystem::path& container_dir);

// The spec a start runs with. A container with a bundle (`create` writes
// one) starts from it: `update` changes the limits in the private config,
// so a bundle whose linux.resources differ is rewritten with them first.
// One without (`run` leaves it to its start, as dockerd makes a container's
// spec when it starts it; or one created before bundles existed) gets one
// made from its config now, which the caller writes (write_bundle) before
// the container is recorded as running: *made is set then.
oci::Spec bundle_for_start(const Config& cfg, const std::filesystem::path& container_dir,
                           const std::filesystem::path& rootfs, bool* made);

}  // namespace mctr::container
