// minictr images: the table `docker images` prints.
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/image_verbs.h"
#include "image/progress.h"

namespace mctr::cli {

namespace {

struct ImagesOpts {
  bool quiet = false, no_trunc = false;
  std::string filter_ref;
};

// "2024-05-01T12:00:00Z" -> seconds since the epoch (0 when unparsable).
time_t parse_rfc3339(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return timegm(&tm);
}

// Docker's "3 days ago" / "2 years ago".
std::string human_ago(const std::string& created) {
  if (created.empty()) return "N/A";
  double secs = std::difftime(std::time(nullptr), parse_rfc3339(created));
  auto plural = [](long n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); };
  std::string d;
  if (secs < 1)
    d = "Less than a second";
  else if (secs < 60)
    d = plural(static_cast<long>(secs), "second");
  else if (secs < 3600)
    d = plural(static_cast<long>(secs / 60), "minute");
  else if (secs < 48 * 3600)
    d = plural(static_cast<long>(secs / 3600), "hour");
  else if (secs < 14 * 86400)
    d = plural(static_cast<long>(secs / 86400), "day");
  else if (secs < 60 * 86400)
    d = plural(static_cast<long>(secs / (7 * 86400)), "week");
  else if (secs < 2 * 365 * 86400)
    d = plural(static_cast<long>(secs / (30 * 86400)), "month");
  else
    d = plural(static_cast<long>(secs / (365 * 86400)), "year");
  return d + " ago";
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 3, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace

void setup_images(CLI::App* sub, Globals& g) {
  auto o = std::make_shared<ImagesOpts>();
  sub->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  sub->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  sub->add_option("repository", o->filter_ref, "Only images of this repository[:tag]");
  sub->callback([o, &g] {
    image::Store store(g.root());
    std::vector<std::vector<std::string>> rows{{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
    std::vector<std::string> ids;
    for (const auto& img : store.list()) {
      std::string id = o->no_trunc ? img.id : img.id.substr(7, 12);
      std::vector<std::string> tags = img.repo_tags;
      if (tags.empty()) tags.push_back("<none>:<none>");
      bool shown = false;
      for (const auto& t : tags) {
        size_t colon = t.rfind(':');
        std::string repo = t.substr(0, colon), tag = t.substr(colon + 1);
        if (!o->filter_ref.empty() && o->filter_ref != repo && o->filter_ref != t) continue;
        rows.push_back({repo, tag, id, human_ago(img.created), image::human_size(img.size)});
        shown = true;
      }
      if (shown && (ids.empty() || ids.back() != id)) ids.push_back(id);
    }
    if (o->quiet)
      for (const auto& id : ids) std::cout << id << "\n";
    else
      print_table(rows);
    g.exit_code = 0;
  });
}

void add_images(CLI::App& app, Globals& g) { setup_images(app.add_subcommand("images", "List images"), g); }

}  // namespace mctr::cli
