#include "container/network_in_advance.h"

#include "linux/namespaces.h"

namespace mctr::container {

UniqueFd make_network_namespace_in_advance() {
  try {
    return linux_ns::new_network_namespace();
  } catch (const std::exception&) {
    return UniqueFd();
  }
}

}  // namespace mctr::container
