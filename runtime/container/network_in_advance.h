// The container's network namespace, made before the container exists.
//
// The kernel takes about as long to make a network namespace (its loopback,
// its sysctl tables, a namespace of every protocol) as the CLI takes to
// create the container. So when the flags say the container will have one
// of its own (gets_own_network_namespace), the CLI's second thread makes it
// right after it spawned the supervisor (SupervisorHandle::spawn), and the
// CLI sends it after "go" (SupervisorHandle::start): it is made while the
// supervisor execs and the CLI creates the container, not after. The bundle
// still decides: the first start uses it only if the bundle asks for a new
// network namespace and no user namespace (which would have to own it);
// otherwise it is dropped.
#pragma once

#include "util/fd.h"

namespace mctr::container {

// A new network namespace with its loopback up; the calling thread stays in
// its own. None if the kernel refused: the start then makes one itself, and
// says why if that fails too.
UniqueFd make_network_namespace_in_advance();

}  // namespace mctr::container
