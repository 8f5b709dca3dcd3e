// The container's network namespace, made before the container exists.
//
// The kernel takes about as long to make a network namespace (its loopback,
// its sysctl tables, a namespace of every protocol) as the CLI takes to
// create the container. So when the flags say the container will have one
// of its own (gets_own_network_namespace), the CLI starts making it on a
// second thread as soon as it has spawned the supervisor, and sends it along
// with "go" (SupervisorHandle::start): it is made while the supervisor execs
// and the CLI creates the container, not after. The bundle still decides: the
// first start uses it only if the bundle asks for a new network namespace
// and no user namespace (which would have to own it); otherwise it is
// dropped.
#pragma once

#include "util/fd.h"
#include "util/parallel.h"

namespace mctr::container {

class NetworkNamespaceInAdvance {
 public:
  NetworkNamespaceInAdvance();
  // The namespace, once made: none if taken already, or if the kernel
  // refused (the start then makes one itself, and says why if that fails
  // too). Waits for the namespace, not for the thread to exit: that is left
  // to the destructor, off the way to "go".
  UniqueFd take() { return making_.take(); }

 private:
  InAdvance<UniqueFd> making_;
};

}  // namespace mctr::container
