// minictr rmi REF...: untag an image, or remove it and the layers no other
// image uses.
#include <iostream>
#include <memory>

#include "cli/image_verbs.h"
#include "util/error.h"

namespace mctr::cli {

void setup_rmi(CLI::App* sub, Globals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("image", *refs, "Image name[:tag] or ID")->required();
  sub->add_flag("-f,--force", *force, "Accepted for Docker compatibility");
  sub->callback([refs, &g] {
    image::Store store(g.root());
    std::string first_error;
    for (const auto& ref : *refs) {
      try {
        image::RemoveResult r = store.remove(ref);
        for (const auto& t : r.untagged) std::cout << "Untagged: " << t << "\n";
        for (const auto& d : r.deleted) std::cout << "Deleted: " << d << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
        if (first_error.empty()) first_error = e.what();
      }
    }
    if (!first_error.empty()) throw Error(first_error);
    g.exit_code = 0;
  });
}

void add_rmi(CLI::App& app, Globals& g) {
  setup_rmi(app.add_subcommand("rmi", "Remove one or more images"), g);
}

}  // namespace mctr::cli
