// The device allow-list: which device nodes a container may create (mknod)
// and open. Having a node in /dev is not enough; the cgroup decides.
//
// cgroup v1: the "devices" controller, configured with text rules written
// into devices.deny / devices.allow.
// cgroup v2: no controller files at all; a small BPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE is attached to the cgroup and the kernel runs
// it on every mknod/open of a device node (return 1 = allow, 0 = EPERM).
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/fd.h"

namespace mctr::cgroup {

inline constexpr int64_t kAnyNumber = -1;  // "*" in "c 136:* rwm"

struct DeviceRule {
  char type = 'a';  // 'c' char, 'b' block, 'a' both
  int64_t major = kAnyNumber;
  int64_t minor = kAnyNumber;
  std::string access = "rwm";  // subset of r (read), w (write), m (mknod)
};

// Docker's default allow-list (everything else is denied); --privileged: allow all.
std::vector<DeviceRule> device_allow_list(bool privileged);
// "c 1:3 rwm", "c 136:* rwm", "a *:* rwm" (the v1 text form).
std::string to_string(const DeviceRule& r);
// The list has "a *:* rwm" (--privileged): no rule needs to go on the group.
bool allows_everything(const std::vector<DeviceRule>& rules);

// cgroup v1: deny everything, then allow the list. `devices_dir` is the
// container's directory in the devices hierarchy, e.g. /sys/fs/cgroup/devices/minictr/ID.
void apply_devices_v1(const std::filesystem::path& devices_dir, const std::vector<DeviceRule>& allow);

// cgroup v2: the BPF program for the allow-list, as raw instructions.
std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& allow);
// Load it into the kernel (bpf(BPF_PROG_LOAD)); the verifier must accept it.
UniqueFd load_device_filter(const std::vector<DeviceRule>& allow);
// Attach a loaded program to a v2 cgroup directory (bpf(BPF_PROG_ATTACH)).
// The attachment keeps the program alive until the cgroup is removed.
void attach_device_filter(const std::filesystem::path& cgroup_dir, int prog_fd);
// Both steps: what the v2 cgroup manager calls for a new container.
void apply_devices_v2(const std::filesystem::path& cgroup_dir, const std::vector<DeviceRule>& allow);

}  // namespace mctr::cgroup
