// What a bundle may ask that oci::Spec does not carry (yet), read from the
// config.json text itself: linux.devices (device nodes to make in /dev) and
// linux.resources.memory.swappiness. And the limits that cgroup::Resources
// keeps in Docker's terms (--cpus), written here as the spec gives them:
// the CFS quota and period, memory reservation, swappiness, OOM killer off.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "linux/cgroup/devices.h"
#include "oci/spec.h"

namespace mctr::runc {

struct DeviceNode {  // linux.devices[]
  std::string path;  // absolute, in the container
  char type = 'c';   // c (or u), b, p
  int64_t major = 0, minor = 0;
  uint32_t file_mode = 0666;
  uint32_t uid = 0, gid = 0;
};

struct Extras {
  std::vector<DeviceNode> devices;
  std::optional<uint64_t> swappiness;
};

// From <bundle>/config.json (already accepted by oci::read_bundle_spec).
// Throws Error naming a malformed linux.devices entry.
Extras read_extras(const std::string& bundle);
Extras parse_extras(const std::string& config_text);

// The device nodes' own allow rules (runc allows what linux.devices makes).
std::vector<cgroup::DeviceRule> device_node_rules(const Extras& e);

// In the init, before pivot_root: mknod each under <rootfs>/dev (resolved
// inside the rootfs), with its mode and owner.
void make_device_nodes(const std::string& rootfs, const Extras& e);

// The limits cgroup::Manager::apply does not write as given: cpu.cfs_quota_us
// and cpu.cfs_period_us (v2 cpu.max), memory.soft_limit_in_bytes (v2
// memory.low), memory.swappiness, memory.oom_control. `group` is relative to
// each hierarchy's root.
void apply_extra_resources(const std::string& group, const oci::Spec& spec, const Extras& e);

}  // namespace mctr::runc
