// minictr image prune [-a] [-f]: remove dangling images (no tag), or with
// -a every image no container was made from; print what went and the space
// reclaimed, as `docker image prune` does.
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "cli/image_verbs.h"
#include "image/progress.h"
#include "util/error.h"

namespace mctr::cli {

namespace {

// Bytes a layer takes in the store: its unpacked files and its kept blob.
uint64_t layer_bytes(const image::Store& store, const std::string& diff_id) {
  uint64_t n = 0;
  try {
    n = store.layer_size(diff_id);
  } catch (const Error&) {
  }
  if (auto b = store.layer_blob(diff_id)) n += b->size;
  return n;
}

}  // namespace

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
    container::Store containers(g.root());
    std::set<std::string> used_images;
    for (const auto& id : containers.ids()) {
      try {
        used_images.insert(containers.config(id).image_id);
      } catch (const Error&) {
      }
    }
    std::set<std::string> in_use = layers_in_use(containers);
    // Sizes first: a removed layer cannot be measured afterwards.
    std::map<std::string, uint64_t> sizes;
    for (const auto& img : store.list())
      for (const auto& d : img.diff_ids) sizes.emplace(d, layer_bytes(store, d));

    std::vector<std::string> lines;
    uint64_t reclaimed = 0;
    for (const auto& img : store.list()) {
      if (used_images.count(img.id) || (!*all && !img.repo_tags.empty())) continue;
      image::RemoveResult r = store.remove(img.id, in_use);
      for (const auto& t : r.untagged) lines.push_back("untagged: " + t);
      for (size_t i = 0; i < r.deleted.size(); ++i) {
        lines.push_back("deleted: " + r.deleted[i]);
        if (i > 0 && sizes.count(r.deleted[i])) reclaimed += sizes[r.deleted[i]];
      }
    }
    if (!lines.empty()) {
      std::cout << "Deleted Images:\n";
      for (const auto& l : lines) std::cout << l << "\n";
      std::cout << "\n";
    }
    std::cout << "Total reclaimed space: " << image::human_size(reclaimed) << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
