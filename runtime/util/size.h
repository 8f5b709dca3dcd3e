// Sizes as Docker reads them: one parser for -m, --memory-swap, --shm-size,
// log max-size and the layer limits of `load`.
#pragma once

#include <cstdint>
#include <string>

namespace mctr {

// Docker's size grammar (go-units RAMInBytes): "1024", "1.5g", "256m", "512 KiB".
// Throws mctr::Error for anything else, and for sizes that do not fit in an int64.
int64_t parse_bytes(const std::string& s);
// The same grammar with units of `unit` (1024 for -m, 1000 for log sizes).
int64_t parse_size(const std::string& s, unsigned unit);

}  // namespace mctr
