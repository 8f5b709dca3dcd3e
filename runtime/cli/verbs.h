// Every verb lives in its own file and exposes one add_<verb>() that
// registers a CLI11 subcommand. Only the CLI prints for humans; the rooms
// below it return values or throw mctr::Error.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "container/config.h"
#include "util/command_line.h"
#include "util/error.h"

namespace mctr::cli {

struct Globals {
  std::string root_flag;          // --root
  bool explain = false;           // --explain (teaching trace)
  std::string explain_script;     // --explain-script FILE (explain_script.h)
  std::string explained_id;       // the container `run` made, for that script
  int exit_code = 0;              // set by the verb that ran
  std::vector<std::string> argv;  // the command line as typed (util/command_line.h)
  std::filesystem::path root() const;
};

// Image verbs
void add_load(CLI::App& app, Globals& g);
void add_images(CLI::App& app, Globals& g);
void add_rmi(CLI::App& app, Globals& g);
void add_image(CLI::App& app, Globals& g);  // image inspect|ls|rm|load
// Container verbs
void add_version(CLI::App& app, Globals& g);
void add_run(CLI::App& app, Globals& g);
void add_create(CLI::App& app, Globals& g);
void add_start(CLI::App& app, Globals& g);
void add_ps(CLI::App& app, Globals& g);
void add_logs(CLI::App& app, Globals& g);
void add_stop(CLI::App& app, Globals& g);
void add_kill(CLI::App& app, Globals& g);
void add_rm(CLI::App& app, Globals& g);
void add_inspect(CLI::App& app, Globals& g);
void add_exec(CLI::App& app, Globals& g);
void add_cp(CLI::App& app, Globals& g);
void add_volume(CLI::App& app, Globals& g);
void add_stats(CLI::App& app, Globals& g);
void add_update(CLI::App& app, Globals& g);
void add_system(CLI::App& app, Globals& g);
void add_network(CLI::App& app, Globals& g);
void add_wait(CLI::App& app, Globals& g);
void add_port(CLI::App& app, Globals& g);
void add_top(CLI::App& app, Globals& g);
void add_rename(CLI::App& app, Globals& g);
void add_pause(CLI::App& app, Globals& g);
void add_unpause(CLI::App& app, Globals& g);
void add_build(CLI::App& app, Globals& g);  // build, save, tag, history: images made and sent out
void add_save(CLI::App& app, Globals& g);
void add_tag(CLI::App& app, Globals& g);
void add_history(CLI::App& app, Globals& g);
void add_commit(CLI::App& app, Globals& g);
void add_events(CLI::App& app, Globals& g);
void add_push(CLI::App& app, Globals& g);  // push, pull: runtime/registry/ (minictr-registry)
void add_pull(CLI::App& app, Globals& g);
void add_login(CLI::App& app, Globals& g);  // login, logout: the same helper
void add_logout(CLI::App& app, Globals& g);
void add_export(CLI::App& app, Globals& g);  // export, import: build/export_import.h
void add_import(CLI::App& app, Globals& g);
void add_compose(CLI::App& app, Globals& g);  // compose up/down/ps/...: projects from a compose file

// Start a created/stopped container: foreground (attach) follows it to its
// exit code; detached returns once it runs. Used by start and compose.
int start_and_follow(const std::filesystem::path& root, const std::string& id, bool attach, bool tty,
                     bool print_id);

}  // namespace mctr::cli
