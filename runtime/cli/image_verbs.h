// The image verbs are reachable twice (`minictr load` and `minictr image
// load`, `rmi` and `image rm`, `images` and `image ls`): each file defines
// the subcommand's options and action once, here.
#pragma once

#include <CLI/CLI.hpp>
#include <set>
#include <string>

#include "cli/verbs.h"
#include "container/state.h"
#include "image/store.h"

namespace mctr::cli {

void setup_load(CLI::App* sub, Globals& g);
void setup_images(CLI::App* sub, Globals& g);
void setup_rmi(CLI::App* sub, Globals& g);
void setup_image_inspect(CLI::App* sub, Globals& g);
void setup_image_prune(CLI::App* sub, Globals& g);

// The layers containers use (dir names, i.e. diffID hexes): rmi and image
// prune never delete them under a container (rmi.cpp).
std::set<std::string> layers_in_use(const container::Store& containers);

}  // namespace mctr::cli
