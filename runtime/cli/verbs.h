// Every verb lives in its own file and exposes one add_<verb>() that
// registers a CLI11 subcommand. Only the CLI prints for humans; the rooms
// below it return values or throw mctr::Error.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

namespace mctr::cli {

struct Globals {
  std::string root_flag;   // --root
  bool explain = false;    // reserved for --explain (teaching trace)
  int exit_code = 0;       // set by the verb that ran
  std::filesystem::path root() const;
};

// Image verbs
void add_load(CLI::App& app, Globals& g);
void add_images(CLI::App& app, Globals& g);
void add_rmi(CLI::App& app, Globals& g);
void add_image(CLI::App& app, Globals& g);  // image inspect|ls|rm|load
// Container verbs
void add_version(CLI::App& app, Globals& g);

}  // namespace mctr::cli
