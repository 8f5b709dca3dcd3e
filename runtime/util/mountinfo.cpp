#include "util/mountinfo.h"

#include <cctype>
#include <charconv>
#include <string_view>

#include "util/fs.h"
#include "util/text.h"

namespace mctr::fs {

namespace {

std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    bool escape = s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
                  std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
                  std::isdigit(static_cast<unsigned char>(s[i + 3]));
    if (!escape) {
      out += s[i];
      continue;
    }
    out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
    i += 3;
  }
  return out;
}

bool to_int(std::string_view s, int& out) {
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), out);
  return err == std::errc() && end == s.data() + s.size();
}

// Split with string_views, not a stream per line: the supervisor reads the
// table at every start (the cgroup layout) and a stream costs more than the line.
bool parse_line(std::string_view line, MountInfo& m) {
  const auto f = text::fields(line);
  // id parent dev root mount-point options [optional fields...] - fstype source [super-options]
  if (f.size() < 9) return false;
  size_t dash = 6;
  while (dash < f.size() && f[dash] != "-") ++dash;  // the optional fields vary in number
  if (dash + 2 >= f.size()) return false;
  if (!to_int(f[0], m.id) || !to_int(f[1], m.parent)) return false;
  m.root = unescape_octal(f[3]);
  m.mount_point = unescape_octal(f[4]);
  m.options = std::string(f[5]);
  m.fstype = std::string(f[dash + 1]);
  m.source = unescape_octal(f[dash + 2]);
  if (dash + 3 < f.size()) m.super_options = std::string(f[dash + 3]);  // absent on some filesystems' lines
  return true;
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(const std::string& table) {
  std::vector<MountInfo> mounts;
  for (std::string_view line : text::split(table, '\n')) {
    MountInfo m;
    if (parse_line(line, m)) mounts.push_back(std::move(m));
  }
  return mounts;
}

std::vector<MountInfo> read_mountinfo(const std::filesystem::path& p) {
  return parse_mountinfo(read_file(p));
}

}  // namespace mctr::fs
