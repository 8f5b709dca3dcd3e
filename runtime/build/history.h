// An image's history (the config's "history" entries joined with the layers
// they made), newest first, as `history` shows it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/store.h"

namespace mctr::build {

struct HistoryRow {
  std::string id;  // the image's ID on the newest row, "" (<missing>) below it
  std::string created, created_by, comment;
  uint64_t size = 0;  // bytes of the layer this entry made (0 for empty_layer)
};

std::vector<HistoryRow> image_history(const image::Store& store, const image::Image& img);

}  // namespace mctr::build
