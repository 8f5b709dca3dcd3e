// minictr save -o FILE [--format docker|oci] IMAGE...
#include <iostream>
#include <memory>

#include "build/save_archive.h"
#include "cli/verbs.h"
#include "image/store.h"

namespace mctr::cli {

namespace {
struct SaveFlags {
  std::string output, format = "docker";
  std::vector<std::string> images;
};
}  // namespace

void add_save(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("save", "Save one or more images to a tar archive");
  auto f = std::make_shared<SaveFlags>();
  sub->add_option("-o,--output", f->output, "Write to this file")->required();
  sub->add_option("--format", f->format, "docker (docker save's layout) or oci (an OCI image layout)")
      ->check(CLI::IsMember({"docker", "oci"}));
  sub->add_option("images", f->images, "Images to save")->required();
  sub->callback([&g, f] {
    image::Store store(g.root());
    build::save_images(store, f->images, f->output,
                       f->format == "oci" ? build::SaveFormat::kOci : build::SaveFormat::kDocker, std::cerr);
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
