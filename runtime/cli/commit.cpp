// minictr commit [-m MESSAGE] [-a AUTHOR] CONTAINER [REPOSITORY[:TAG]]
#include "build/commit.h"

#include <iostream>
#include <memory>

#include "cli/verbs.h"

namespace mctr::cli {

void add_commit(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("commit", "Create a new image from a container's changes");
  auto o = std::make_shared<build::CommitOptions>();
  auto tag = std::make_shared<std::string>();
  sub->add_option("container", o->container, "Container name or ID")->required();
  sub->add_option("repository", *tag, "REPOSITORY[:TAG] of the new image");
  sub->add_option("-m,--message", o->message, "Commit message (the history entry)");
  sub->add_option("-a,--author", o->author, "Author");
  sub->callback([&g, o, tag] {
    build::CommitOptions opts = *o;
    if (!tag->empty()) opts.tags.push_back(*tag);
    std::cout << build::commit_container(g.root(), opts) << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
