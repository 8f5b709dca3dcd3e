// The image verbs are reachable twice (`minictr load` and `minictr image
// load`, `rmi` and `image rm`, `images` and `image ls`): each file defines
// the subcommand's options and action once, here.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/verbs.h"

namespace mctr::cli {

void setup_load(CLI::App* sub, Globals& g);
void setup_images(CLI::App* sub, Globals& g);
void setup_rmi(CLI::App* sub, Globals& g);
void setup_image_inspect(CLI::App* sub, Globals& g);
void setup_image_prune(CLI::App* sub, Globals& g);

}  // namespace mctr::cli
