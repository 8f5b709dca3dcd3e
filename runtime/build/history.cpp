#include "build/history.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace mctr::build {

std::vector<HistoryRow> image_history(const image::Store& store, const image::Image& img) {
  nlohmann::json cfg = nlohmann::json::parse(store.config_json(img));
  std::vector<HistoryRow> rows;
  size_t layer = 0;
  if (cfg.contains("history") && cfg["history"].is_array()) {
    for (const auto& h : cfg["history"]) {
      HistoryRow r;
      r.created = h.value("created", "");
      r.created_by = h.value("created_by", "");
      r.comment = h.value("comment", "");
      if (!h.value("empty_layer", false) && layer < img.diff_ids.size())
        r.size = store.layer_size(img.diff_ids[layer++]);
      rows.push_back(r);
    }
  }
  // Layers the history does not describe (an image packed without one).
  for (; layer < img.diff_ids.size(); ++layer) {
    HistoryRow r;
    r.size = store.layer_size(img.diff_ids[layer]);
    rows.push_back(r);
  }
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) rows.front().id = img.id;
  return rows;
}

}  // namespace mctr::build
