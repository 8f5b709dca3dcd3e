// minictr rmi REF...: untag an image, or remove it and the layers no other
// image uses.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/image_verbs.h"
#include "container/state.h"
#include "util/error.h"

namespace mctr::cli {

// The image's layers are the lower dirs of its containers' overlays:
// deleting them under a container (even a stopped one) would break it.
static void refuse_if_in_use(const image::Store& store, const container::Store& containers,
                             const std::string& ref) {
  auto img = store.find(ref);
  if (!img) return;  // store.remove reports "no such image"
  bool untag_only = img->repo_tags.size() > 1 && ref.rfind("sha256:", 0) != 0 &&
                    std::find(img->repo_tags.begin(), img->repo_tags.end(), ref) != img->repo_tags.end();
  if (untag_only) return;
  for (const auto& id : containers.ids()) {
    try {
      if (containers.config(id).image_id == img->id)
        throw Error("conflict: unable to remove image " + ref + ": container " + id.substr(0, 12) +
                    " is using it (remove the container first)");
    } catch (const Error& e) {
      if (std::string(e.what()).rfind("conflict:", 0) == 0) throw;
    }
  }
}

void setup_rmi(CLI::App* sub, Globals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("image", *refs, "Image name[:tag] or ID")->required();
  sub->add_flag("-f,--force", *force, "Accepted for Docker compatibility");
  sub->callback([refs, &g] {
    image::Store store(g.root());
    container::Store containers(g.root());
    std::string first_error;
    for (const auto& ref : *refs) {
      try {
        refuse_if_in_use(store, containers, ref);
        image::RemoveResult r = store.remove(ref);
        for (const auto& t : r.untagged) std::cout << "Untagged: " << t << "\n";
        for (const auto& d : r.deleted) std::cout << "Deleted: " << d << "\n";
      } catch (const Error& e) {
        std::cerr << "minictr: error: " << e.what() << "\n";
        if (first_error.empty()) first_error = e.what();
      }
    }
    g.exit_code = first_error.empty() ? 0 : 1;
  });
}

void add_rmi(CLI::App& app, Globals& g) {
  setup_rmi(app.add_subcommand("rmi", "Remove one or more images"), g);
}

}  // namespace mctr::cli
