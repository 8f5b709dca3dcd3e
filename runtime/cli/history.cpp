// minictr history [--no-trunc] [-q] IMAGE: one line per history entry of the
// image config, newest first, with the size of the layer it made.
#include "build/history.h"

#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/format.h"
#include "cli/verbs.h"
#include "image/progress.h"
#include "image/store.h"

namespace mctr::cli {

namespace {
struct HistoryFlags {
  std::string image;
  bool no_trunc = false, quiet = false;
};

std::string shorten(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 3) + "..."; }
}  // namespace

void add_history(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("history", "Show the history of an image");
  auto f = std::make_shared<HistoryFlags>();
  sub->add_option("image", f->image, "Image reference or ID")->required();
  sub->add_flag("--no-trunc", f->no_trunc, "Do not truncate the output");
  sub->add_flag("-q,--quiet", f->quiet, "Only show image IDs");
  sub->callback([&g, f] {
    image::Store store(g.root());
    auto img = store.find(f->image);
    if (!img) throw Error("No such image: " + f->image);
    auto rows = build::image_history(store, *img);
    if (!f->quiet)
      std::cout << std::left << std::setw(15) << "IMAGE" << std::setw(15) << "CREATED" << std::setw(46)
                << "CREATED BY" << std::setw(10) << "SIZE"
                << "COMMENT\n";
    for (const auto& r : rows) {
      std::string id = r.id.empty() ? "<missing>" : (f->no_trunc ? r.id : r.id.substr(7, 12));
      if (f->quiet) {
        std::cout << id << "\n";
        continue;
      }
      long long s = seconds_since(r.created);
      std::string created = s < 0 ? "N/A" : human_duration(s) + " ago";
      std::string by = f->no_trunc ? r.created_by : shorten(r.created_by, 45);
      std::cout << std::left << std::setw(15) << id << std::setw(15) << created << std::setw(46) << by
                << std::setw(10) << image::human_size(r.size) << r.comment << "\n";
    }
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
