#include "container/network_in_advance.h"

#include "linux/namespaces.h"

namespace mctr::container {

// Its thread blocks every signal: they are for the CLI's main thread, which
// forwards them to the container (SIGTERM would end the process).
NetworkNamespaceInAdvance::NetworkNamespaceInAdvance()
    : making_([] {
        try {
          return linux_ns::new_network_namespace();
        } catch (const std::exception&) {
          return UniqueFd();  // the start makes one itself, and says why if that fails too
        }
      }) {}

}  // namespace mctr::container
