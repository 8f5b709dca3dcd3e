// How large the CPU's last-level cache is: the matvec kernels read weights that fit in it
// differently from weights that stream from memory at every token (kernels.h: RowFetch).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mctr::infer {

// Bytes of the highest-level data (or unified) cache of CPU 0, as the kernel describes it in
// `cache_dir` (sysfs: index*/level, type, size), or 0 when it says nothing usable.
size_t last_level_cache_bytes_from(const std::string& cache_dir);

// The same for this machine: the kernel's answer, else glibc's sysconf(_SC_LEVEL3_CACHE_SIZE),
// else 0 (unknown). Read once, on first use.
size_t last_level_cache_bytes();

// One sysfs cache "size" ("32768K", "1M", "512"): bytes, or 0 when malformed.
size_t parse_cache_size(std::string_view text);

}  // namespace mctr::infer
