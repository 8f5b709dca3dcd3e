// `features` and `spec`: what this runtime can do (runc's features JSON,
// read by containerd and podman to decide what to ask for) and the default
// config.json `runc spec` writes.
#pragma once

#include <nlohmann/json.hpp>

namespace mctr::runc {

nlohmann::json features_json();

// runc's default spec: `sh` on a terminal in a rootfs/ beside config.json,
// the usual namespaces, mounts, masked paths and capabilities.
nlohmann::json default_spec();

}  // namespace mctr::runc
