// minictr volume ls [-q] [--format ...] | create NAME | rm NAME...   (named volumes under
// <root>/volumes/NAME/_data)
#include <cstdio>
#include <iostream>

#include "cli/verbs.h"
#include "container/lifecycle.h"
#include "util/fs.h"
#include "util/listing.h"

namespace mctr::cli {

// The fields of docker volume ls --format, and its default table.
static const listing::Table kVolumeTable{
    {{"Name", "VOLUME NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"Mountpoint", "MOUNTPOINT"}},
    "table {{.Driver}}\t{{.Name}}"};

static nlohmann::json volume_row(const container::Store& store, const std::string& name) {
  return {{"Name", name},
          {"Driver", "local"},
          {"Scope", "local"},
          {"Mountpoint", (store.volumes_dir() / name / "_data").string()}};
}

// Names of volumes mounted by any container (running or not).
static std::vector<std::string> volumes_in_use(const container::Store& store) {
  std::vector<std::string> used;
  for (const auto& id : store.ids()) {
    try {
      for (const auto& m : store.config(id).mounts)
        if (m.type == "volume") used.push_back(m.name);
    } catch (const Error&) {
    }
  }
  return used;
}

void add_volume(CLI::App& app, Globals& g) {
  auto* vol = app.add_subcommand("volume", "Manage named volumes");
  vol->require_subcommand(1);
  auto* ls = vol->add_subcommand("ls", "List volumes");
  auto ls_quiet = std::make_shared<bool>(false);
  auto ls_format = std::make_shared<std::string>();
  ls->add_flag("-q,--quiet", *ls_quiet, "Only display volume names");
  ls->add_option(
      "--format", *ls_format,
      "table (default), json, 'table TEMPLATE' or a Go TEMPLATE, e.g. '{{.Name}}: {{.Mountpoint}}'");
  ls->callback([&g, ls_quiet, ls_format] {
    container::Store store(g.root());
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(store.volumes_dir(), ec))
      names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    std::vector<nlohmann::json> rows;
    for (const auto& n : names) rows.push_back(volume_row(store, n));
    std::cout << listing::format_rows(*ls_quiet ? "{{.Name}}" : *ls_format, kVolumeTable, rows);
    g.exit_code = 0;
  });
  auto* create = vol->add_subcommand("create", "Create a volume");
  auto name = std::make_shared<std::string>();
  create->add_option("name", *name, "Volume name")->required();
  create->callback([&g, name] {
    container::Store store(g.root());
    container::parse_volume(store, *name + ":/x");
    std::cout << *name << "\n";
    g.exit_code = 0;
  });
  auto* rm = vol->add_subcommand("rm", "Remove volumes");
  auto names = std::make_shared<std::vector<std::string>>();
  rm->add_option("names", *names, "Volume names")->required();
  rm->callback([&g, names] {
    container::Store store(g.root());
    auto used = volumes_in_use(store);
    int rc = 0;
    for (const auto& n : *names) {
      auto dir = store.volumes_dir() / n;
      if (n.find('/') != std::string::npos || n == "." || n == ".." || !std::filesystem::exists(dir)) {
        std::cerr << "minictr: error: no such volume: " << n << "\n";
        rc = 1;
      } else if (std::find(used.begin(), used.end(), n) != used.end()) {
        std::cerr << "minictr: error: remove " << n << ": volume is in use\n";
        rc = 1;
      } else {
        fs::remove_tree(dir);
        std::cout << n << "\n";
      }
    }
    g.exit_code = rc;
  });
}

}  // namespace mctr::cli
