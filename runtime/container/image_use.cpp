#include "container/image_use.h"

#include <algorithm>
#include <map>

#include "container/lifecycle.h"
#include "image/reference.h"
#include "util/error.h"

namespace mctr::container {

namespace {

struct Users {
  std::vector<std::string> running, stopped;  // ids of containers made from the image
};

Users containers_using(const Store& containers, const std::string& image_id) {
  Users u;
  for (const auto& id : containers.ids()) {
    try {
      if (containers.config(id).image_id != image_id) continue;
      auto s = observed_state(containers, id);
      (s.status == Status::kRunning || s.paused ? u.running : u.stopped).push_back(id);
    } catch (const Error&) {
      // removed while we looked
    }
  }
  return u;
}

// What `rmi` may do with `ref` (throws Docker's conflict messages).
void check_conflicts(const image::Store& store, const Store& containers, const std::string& ref, bool force) {
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

std::set<std::string> layers_in_use(const Store& containers) {
  std::set<std::string> used;
  for (const auto& id : containers.ids()) {
    try {
      for (const auto& d : containers.config(id).layer_dirs) used.insert(std::filesystem::path(d).filename());
    } catch (const Error&) {
      // removed while we looked
    }
  }
  return used;
}

image::RemoveResult remove_image(image::Store& images, const Store& containers, const std::string& ref,
                                 bool force) {
  check_conflicts(images, containers, ref, force);
  return images.remove(ref, layers_in_use(containers));
}

ImagePrune prune_images(image::Store& images, const Store& containers, bool all) {
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
  for (const auto& img : images.list())
    for (const auto& d : img.diff_ids) sizes.emplace(d, layer_bytes(images, d));
  ImagePrune out;
  for (const auto& img : images.list()) {
    if (used_images.count(img.id) || (!all && !img.repo_tags.empty())) continue;
    image::RemoveResult r = images.remove(img.id, in_use);
    for (const auto& t : r.untagged) out.lines.push_back("untagged: " + t);
    for (size_t i = 0; i < r.deleted.size(); ++i) {
      out.lines.push_back("deleted: " + r.deleted[i]);
      if (i > 0 && sizes.count(r.deleted[i])) out.reclaimed += sizes[r.deleted[i]];
    }
  }
  return out;
}

}  // namespace mctr::container
