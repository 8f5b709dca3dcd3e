// The five capability sets as an OCI bundle gives them
// (process.capabilities: bounding, effective, permitted, inheritable,
// ambient), each set exactly as listed, as runc does. Docker's way (one
// list for bounding/permitted/effective, nothing inheritable or ambient) is
// drop_capabilities in security.h.
#pragma once

#include <string>
#include <vector>

namespace mctr::security {

struct CapabilitySets {  // names as the spec writes them: "CAP_CHOWN"
  std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

// Names this kernel and libcap do not know are skipped and returned (runc
// warns about them and goes on: a newer spec may name newer capabilities).
// Call as root, or after setuid with PR_SET_KEEPCAPS (see
// keep_capabilities_across_setuid), before execve.
std::vector<std::string> apply_capability_sets(const CapabilitySets& sets);

}  // namespace mctr::security
