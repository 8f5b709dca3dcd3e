// minictr images: the table `docker images` prints, or --format table|json|TEMPLATE.
#include <iostream>
#include <memory>

#include "cli/format.h"
#include "cli/image_verbs.h"
#include "image/progress.h"
#include "image/store.h"
#include "util/listing.h"

namespace mctr::cli {

namespace {

struct ImagesOpts {
  bool quiet = false, no_trunc = false, digests = false;
  std::string filter_ref, format;
};

// The fields of docker images --format (those minictr has), and its default table.
const listing::Table kImagesTable{{{"ID", "IMAGE ID"},
                                   {"Repository", "REPOSITORY"},
                                   {"Tag", "TAG"},
                                   {"Digest", "DIGEST"},
                                   {"CreatedSince", "CREATED"},
                                   {"CreatedAt", "CREATED AT"},
                                   {"Size", "SIZE"}},
                                  "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"};

// --digests: the default table with the registry digest after the tag.
const char* const kDigestsTable =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

// Docker's "3 days ago"; an image without a creation time says N/A.
std::string created_since(const std::string& created) {
  long long s = seconds_since(created);
  return s < 0 ? "N/A" : human_duration(s) + " ago";
}

// The registry digest of `repo` ("sha256:..."): from the RepoDigests a push or
// pull recorded ("localhost:5000/a@sha256:..."); an image only loaded has none.
std::string digest_of(const image::Image& img, const std::string& repo) {
  for (const auto& d : img.repo_digests) {
    auto at = d.find('@');
    if (at != std::string::npos && d.compare(0, at, repo) == 0 && at == repo.size()) return d.substr(at + 1);
  }
  return "<none>";
}

nlohmann::json image_row(const image::Image& img, const std::string& repo, const std::string& tag,
                         bool no_trunc) {
  return {{"ID", no_trunc ? img.id : img.id.substr(7, 12)},
          {"Repository", repo},
          {"Tag", tag},
          {"Digest", digest_of(img, repo)},
          {"CreatedSince", created_since(img.created)},
          {"CreatedAt", go_time_text(img.created)},
          {"Size", image::human_size(img.size)}};
}

}  // namespace

void setup_images(CLI::App* sub, Globals& g) {
  auto o = std::make_shared<ImagesOpts>();
  sub->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  sub->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  sub->add_flag("--digests", o->digests, "Show digests");
  sub->add_option(
      "--format", o->format,
      "table (default), json, 'table TEMPLATE' or a Go TEMPLATE, e.g. '{{.Repository}}:{{.Tag}}'");
  sub->add_option("repository", o->filter_ref, "Only images of this repository[:tag]");
  sub->callback([o, &g] {
    image::Store store(g.root());
    std::vector<nlohmann::json> rows;
    std::vector<std::string> ids;
    for (const auto& img : store.list()) {
      std::vector<std::string> tags = img.repo_tags;
      if (tags.empty()) tags.push_back("<none>:<none>");
      bool shown = false;
      for (const auto& t : tags) {
        size_t colon = t.rfind(':');
        std::string repo = t.substr(0, colon), tag = t.substr(colon + 1);
        if (!o->filter_ref.empty() && o->filter_ref != repo && o->filter_ref != t) continue;
        rows.push_back(image_row(img, repo, tag, o->no_trunc));
        shown = true;
      }
      std::string id = rows.empty() ? "" : rows.back()["ID"].get<std::string>();
      if (shown && (ids.empty() || ids.back() != id)) ids.push_back(id);
    }
    if (o->quiet)  // one line per image, not per tag; -q wins over --format, as in Docker
      for (const auto& id : ids) std::cout << id << "\n";
    else if (o->digests && o->format.empty())
      std::cout << listing::format_rows(kDigestsTable, kImagesTable, rows);
    else
      std::cout << listing::format_rows(o->format, kImagesTable, rows);
    g.exit_code = 0;
  });
}

void add_images(CLI::App& app, Globals& g) { setup_images(app.add_subcommand("images", "List images"), g); }

}  // namespace mctr::cli
