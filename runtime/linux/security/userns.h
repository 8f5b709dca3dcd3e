// User namespaces (optional, like Docker's --userns-remap): root inside the
// container is an unprivileged uid range on the host. The parent writes the
// child's /proc/PID/uid_map and gid_map once, after the child has called
// clone/unshare(CLONE_NEWUSER) and before it does anything that needs them.
// The child then calls setresgid(0,0,0) and setresuid(0,0,0) to become the
// namespace's root (until then its host uid 0 is unmapped and reads 65534).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mctr::security {

// One line of uid_map/gid_map: ids [container_id, container_id+size) are
// host ids [host_id, host_id+size).
struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// "0:100000:65536" (container:host:size), several joined by ','. Throws mctr::Error.
std::vector<IdMapping> parse_id_mappings(const std::string& spec);
// "0 100000 65536\n" per mapping: the format the kernel reads.
std::string format_id_map(const std::vector<IdMapping>& maps);

// Parent side. The kernel accepts exactly one write per file, so all lines
// go in one write. gid_map before uid_map is not required for root (who has
// CAP_SETGID in the parent namespace), but setgroups "deny" is for others,
// so we write the uid map last.
void write_id_maps(pid_t pid, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids);

// The host id that `id` in the container maps to (itself when unmapped).
uint32_t host_id_of(uint32_t id, const std::vector<IdMapping>& maps);

// `run --userns=remap`: container ids 0..size-1 on the first "dockremap" or
// "root" line of `subid_file` (/etc/subuid, /etc/subgid: NAME:START:COUNT),
// as dockerd's --userns-remap=default picks them; without one, Docker's
// usual range 100000:65536.
IdMapping remap_range(const std::string& subid_file);

// run --userns=CONTAINER_ID:HOST_ID:SIZE: one range that maps the
// container's root (it must include container id 0: the init becomes
// that user) and stays within 32-bit ids. Throws mctr::Error naming the flag.
IdMapping parse_userns_range(const std::string& value);

}  // namespace mctr::security
