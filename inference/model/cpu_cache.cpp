#include "model/cpu_cache.h"

#include <unistd.h>

#include <charconv>
#include <string>

#include "util/fs.h"

namespace mctr::infer {

namespace {

// The first line of a sysfs file, "" when it is not there (or cannot be read).
std::string first_line(const std::string& path) {
  try {
    const std::string text = fs::read_file_if_exists(path).value_or("");
    return text.substr(0, text.find('\n'));
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

size_t parse_cache_size(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  size_t value = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end == text.data()) return 0;
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit.empty()) return value;
  if (unit == "K") return value << 10;
  if (unit == "M") return value << 20;
  if (unit == "G") return value << 30;
  return 0;
}

size_t last_level_cache_bytes_from(const std::string& cache_dir) {
  int best_level = 0;
  size_t bytes = 0;
  for (int i = 0; i < 16; i++) {
    const std::string index = cache_dir + "/index" + std::to_string(i) + "/";
    const std::string level_text = first_line(index + "level");
    if (level_text.empty()) break;  // the indexes are numbered from 0 without gaps
    if (first_line(index + "type") == "Instruction") continue;
    int level = 0;
    std::from_chars(level_text.data(), level_text.data() + level_text.size(), level);
    const size_t size = parse_cache_size(first_line(index + "size"));
    if (level > best_level && size > 0) {
      best_level = level;
      bytes = size;
    }
  }
  return bytes;
}

// The kernel reads the cache the CPU says each core shares (on AMD, cpuid 0x8000001D: 32 MB
// on this development VM's Zen 4). glibc 2.36 reads cpuid 0x80000006, which here says 320 MB,
// ten times that: by the look of it the whole processor's L3, of which a core only uses its
// own chiplet's. With it the 110M models looked cache-resident.
size_t last_level_cache_bytes() {
  static const size_t bytes = [] {
    if (size_t b = last_level_cache_bytes_from("/sys/devices/system/cpu/cpu0/cache"); b > 0) return b;
    const long llc = ::sysconf(_SC_LEVEL3_CACHE_SIZE);  // 0 or -1 when unknown
    return llc > 0 ? static_cast<size_t>(llc) : size_t{0};
  }();
  return bytes;
}

}  // namespace mctr::infer
