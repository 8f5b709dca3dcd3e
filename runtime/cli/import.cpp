// minictr import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]
#include <iostream>
#include <memory>

#include "build/export_import.h"
#include "cli/verbs.h"

namespace mctr::cli {

void add_import(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("import", "Import the contents from a tarball to create a filesystem image");
  auto o = std::make_shared<build::ImportOptions>();
  auto tag = std::make_shared<std::string>();
  sub->add_option("file", o->source, "A tar archive (plain or compressed), or - for STDIN")->required();
  sub->add_option("repository", *tag, "REPOSITORY[:TAG] of the new image");
  sub->add_option("-c,--change", o->changes, "Apply a Dockerfile instruction to the image (CMD, ENV, ...)")
      ->allow_extra_args(false);
  sub->add_option("-m,--message", o->message, "Set the commit message of the imported image");
  sub->callback([&g, o, tag] {
    build::ImportOptions opts = *o;
    if (!tag->empty()) opts.tags.push_back(*tag);
    std::cout << build::import_tarball(g.root(), opts) << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
