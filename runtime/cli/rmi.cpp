// minictr rmi [-f] REF...: untag an image, or remove it and the layers no
// other image (and no container) uses; Docker's conflict rules are in
// container/image_use.h.
#include <iostream>
#include <memory>

#include "cli/image_verbs.h"
#include "container/image_use.h"
#include "util/error.h"

namespace mctr::cli {

void setup_rmi(CLI::App* sub, Globals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("image", *refs, "Image name[:tag] or ID")->required();
  sub->add_flag("-f,--force", *force, "Force removal of the image (not from under a running container)");
  sub->callback([refs, force, &g] {
    image::Store store(g.root());
    container::Store containers(g.root());
    int rc = 0;
    for (const auto& ref : *refs) {
      try {
        image::RemoveResult r = container::remove_image(store, containers, ref, *force);
        for (const auto& t : r.untagged) std::cout << "Untagged: " << t << "\n";
        for (const auto& d : r.deleted) std::cout << "Deleted: " << d << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
        rc = 1;
      }
    }
    g.exit_code = rc;
  });
}

void add_rmi(CLI::App& app, Globals& g) {
  setup_rmi(app.add_subcommand("rmi", "Remove one or more images"), g);
}

}  // namespace mctr::cli
