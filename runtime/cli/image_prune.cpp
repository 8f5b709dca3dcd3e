// minictr image prune [-a] [-f]: remove dangling images (no tag), or with
// -a every image no container was made from; print what went and the space
// reclaimed, as `docker image prune` does.
#include <iostream>
#include <memory>
#include <string>

#include "cli/image_verbs.h"
#include "container/image_use.h"
#include "image/progress.h"
#include "util/error.h"

namespace mctr::cli {

void setup_image_prune(CLI::App* sub, Globals& g) {
  auto all = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  sub->add_flag("-a,--all", *all, "Remove all unused images, not just dangling ones");
  sub->add_flag("-f,--force", *force, "Do not prompt for confirmation");
  sub->callback([all, force, &g] {
    if (!*force) {
      std::cout
          << (*all ? "WARNING! This will remove all images without at least one container associated to them."
                   : "WARNING! This will remove all dangling images.")
          << "\nAre you sure you want to continue? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y") {
        g.exit_code = 0;
        return;
      }
    }
    image::Store store(g.root());
    container::ImagePrune pruned = container::prune_images(store, container::Store(g.root()), *all);
    const auto& lines = pruned.lines;
    if (!lines.empty()) {
      std::cout << "Deleted Images:\n";
      for (const auto& l : lines) std::cout << l << "\n";
      std::cout << "\n";
    }
    std::cout << "Total reclaimed space: " << image::human_size(pruned.reclaimed) << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
