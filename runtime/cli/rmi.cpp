// minictr rmi [-f] REF...: untag an image, or remove it and the layers no
// other image (and no container) uses.
//
// Docker's rules (daemon/images/image_delete.go): a running container using
// the image is a hard conflict, never forced; a stopped one, or an ID that
// names an image tagged in several repositories, is a soft conflict that -f
// overrides. With -f under a stopped container the image is untagged and
// deleted, but its layers stay for the container (its overlay's lower dirs)
// until the container is removed and `system prune` finds them unused.
#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include "cli/image_verbs.h"
#include "container/state.h"
#include "image/reference.h"
#include "util/error.h"

namespace mctr::cli {

namespace {

struct Users {
  std::vector<std::string> running, stopped;  // ids of containers made from the image
};

Users containers_using(const container::Store& containers, const std::string& image_id) {
  Users u;
  for (const auto& id : containers.ids()) {
    try {
      if (containers.config(id).image_id != image_id) continue;
      auto s = container::observed_state(containers, id);
      (s.status == "running" || s.paused ? u.running : u.stopped).push_back(id);
    } catch (const Error&) {
      // removed while we looked
    }
  }
  return u;
}

// What `rmi` may do with `ref` (throws Docker's conflict messages).
void check_conflicts(const image::Store& store, const container::Store& containers, const std::string& ref,
                     bool force) {
  auto img = store.find(ref);
  if (!img) return;  // store.remove reports "no such image"
  std::string as_tag;
  try {
    as_tag = image::parse_reference(ref).str();
  } catch (const Error&) {
  }
  bool by_tag = std::find(img->repo_tags.begin(), img->repo_tags.end(), as_tag) != img->repo_tags.end();
  if (by_tag && img->repo_tags.size() > 1) return;  // only the tag goes
  if (!by_tag && !force) {
    std::set<std::string> repos;
    for (const auto& t : img->repo_tags) repos.insert(t.substr(0, t.rfind(':')));
    if (repos.size() > 1)
      throw Error("conflict: unable to delete " + img->id.substr(7, 12) +
                  " (must be forced) - image is referenced in multiple repositories");
  }
  Users u = containers_using(containers, img->id);
  if (!u.running.empty())
    throw Error("conflict: unable to delete " + ref +
                " (cannot be forced) - image is being used by running container " +
                u.running.front().substr(0, 12));
  if (!u.stopped.empty() && !force)
    throw Error("conflict: unable to remove repository reference \"" + ref + "\" (must force) - container " +
                u.stopped.front().substr(0, 12) + " is using its referenced image " + img->id.substr(7, 12));
}

}  // namespace

// Layers containers use (dir names: diffID hexes): never deleted under them.
std::set<std::string> layers_in_use(const container::Store& containers) {
  std::set<std::string> used;
  for (const auto& id : containers.ids()) {
    try {
      for (const auto& d : containers.config(id).layer_dirs) used.insert(std::filesystem::path(d).filename());
    } catch (const Error&) {
    }
  }
  return used;
}

void setup_rmi(CLI::App* sub, Globals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("image", *refs, "Image name[:tag] or ID")->required();
  sub->add_flag("-f,--force", *force, "Force removal of the image (not from under a running container)");
  sub->callback([refs, force, &g] {
    image::Store store(g.root());
    container::Store containers(g.root());
    std::string first_error;
    for (const auto& ref : *refs) {
      try {
        check_conflicts(store, containers, ref, *force);
        image::RemoveResult r = store.remove(ref, layers_in_use(containers));
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
