// minictr image inspect|ls|rm|load: `docker image ...`.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/image_verbs.h"
#include "image/store.h"
#include "util/error.h"

namespace mctr::cli {

namespace {

using json = nlohmann::json;

json string_array_or_null(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

json object_of_keys(const std::vector<std::string>& keys) {
  json o = json::object();
  for (const auto& k : keys) o[k] = json::object();
  return o;
}

// The fields of `docker image inspect` that minictr knows.
json inspect_json(const image::Image& img) {
  json cfg;
  cfg["Env"] = string_array_or_null(img.config.env);
  cfg["Entrypoint"] = string_array_or_null(img.config.entrypoint);
  cfg["Cmd"] = string_array_or_null(img.config.cmd);
  cfg["WorkingDir"] = img.config.working_dir;
  cfg["User"] = img.config.user;
  cfg["ExposedPorts"] = object_of_keys(img.config.exposed_ports);
  cfg["Volumes"] = object_of_keys(img.config.volumes);
  cfg["Labels"] = img.config.labels;
  std::string lower;  // overlayfs lowerdir: top layer first
  for (auto it = img.layer_dirs.rbegin(); it != img.layer_dirs.rend(); ++it)
    lower += (lower.empty() ? "" : ":") + it->string();
  return {
      {"Id", img.id},
      {"RepoTags", img.repo_tags},
      {"RepoDigests", img.repo_digests},
      {"Created", img.created},
      {"Architecture", img.architecture},
      {"Os", img.os},
      {"Size", img.size},
      {"Config", cfg},
      {"RootFS", {{"Type", "layers"}, {"Layers", img.diff_ids}}},
      {"GraphDriver", {{"Name", "overlay"}, {"Data", {{"LowerDir", lower}}}}},
  };
}

}  // namespace

void setup_image_inspect(CLI::App* sub, Globals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("image", *refs, "Image name[:tag] or ID")->required();
  sub->callback([refs, &g] {
    image::Store store(g.root());
    json out = json::array();
    std::string missing;
    for (const auto& ref : *refs) {
      if (auto img = store.find(ref))
        out.push_back(inspect_json(*img));
      else if (missing.empty())
        missing = ref;
    }
    std::cout << out.dump(4) << "\n";
    if (!missing.empty()) throw Error("No such image: " + missing);
    g.exit_code = 0;
  });
}

void add_image(CLI::App& app, Globals& g) {
  auto* image = app.add_subcommand("image", "Manage images (inspect, ls, rm, load, prune)");
  image->require_subcommand(1);
  setup_image_inspect(image->add_subcommand("inspect", "Display detailed information on one or more images"),
                      g);
  setup_images(image->add_subcommand("ls", "List images"), g);
  setup_rmi(image->add_subcommand("rm", "Remove one or more images"), g);
  setup_load(image->add_subcommand("load", "Load images from a tar archive"), g);
  setup_image_prune(image->add_subcommand("prune", "Remove unused images"), g);
}

}  // namespace mctr::cli
