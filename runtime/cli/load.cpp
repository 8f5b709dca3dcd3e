// minictr load [-i] FILE: put the images of an archive into the store.
#include <iostream>
#include <memory>

#include "cli/image_verbs.h"
#include "image/progress.h"
#include "image/store.h"
#include "util/error.h"
#include "util/size.h"

namespace mctr::cli {

namespace {
struct LoadOpts {
  std::string input, positional, max_size, max_entries;
  bool quiet = false;
};
}  // namespace

void setup_load(CLI::App* sub, Globals& g) {
  auto o = std::make_shared<LoadOpts>();
  sub->add_option("-i,--input", o->input,
                  "Read from a tar archive file (OCI layout, oci-archive or docker save)");
  sub->add_option("file", o->positional, "The archive (same as -i)");
  sub->add_flag("-q,--quiet", o->quiet, "Suppress the load output");
  sub->add_option("--max-layer-size", o->max_size,
                  "Largest uncompressed layer accepted, e.g. 8g (default 64g, or $MINICTR_MAX_LAYER_SIZE)");
  sub->add_option("--max-layer-entries", o->max_entries,
                  "Most files per layer (default 10000000, or $MINICTR_MAX_LAYER_ENTRIES)");
  sub->callback([o, &g] {
    std::string file = o->input.empty() ? o->positional : o->input;
    if (file.empty()) throw Error("load: give the archive to load: minictr load -i FILE.tar");
    image::LoadLimits limits = image::LoadLimits::from_env();
    if (!o->max_size.empty()) limits.max_unpacked_bytes = static_cast<uint64_t>(parse_bytes(o->max_size));
    if (!o->max_entries.empty()) limits.max_entries = static_cast<uint64_t>(parse_bytes(o->max_entries));

    image::Store store(g.root());
    image::ProgressBar bar = o->quiet ? image::ProgressBar(false) : image::ProgressBar::for_stderr();
    std::vector<image::Image> images = store.load(file, std::nullopt, limits, bar.fn());
    bar.finish();
    if (!o->quiet) {
      for (const auto& img : images) {
        if (img.repo_tags.empty()) std::cout << "Loaded image ID: " << img.id << "\n";
        for (const auto& t : img.repo_tags) std::cout << "Loaded image: " << t << "\n";
      }
    }
    g.exit_code = 0;
  });
}

void add_load(CLI::App& app, Globals& g) {
  setup_load(app.add_subcommand("load", "Load images from a tar archive (OCI or docker save)"), g);
}

}  // namespace mctr::cli
