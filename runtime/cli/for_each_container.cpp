#include "cli/for_each_container.h"

#include <iostream>

#include "util/error.h"

namespace mctr::cli {

int for_each_container(const std::vector<std::string>& refs, const container::Store& store,
                       const std::function<void(const std::string& id)>& action) {
  int rc = 0;
  for (const auto& ref : refs) {
    try {
      action(store.resolve(ref));
      std::cout << ref << "\n";
    } catch (const Error& e) {
      std::cerr << "minictr: error: " << e.what() << "\n";
      rc = 1;
    }
  }
  return rc;
}

}  // namespace mctr::cli
