#include "util/mountinfo.h"

#include <cctype>
#include <sstream>

#include "util/fs.h"

namespace mctr::fs {

namespace {

std::string unescape_octal(const std::string& s) {
  std::string out;
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

bool parse_line(const std::string& line, MountInfo& m) {
  // The optional fields ("shared:15 master:1") vary in number; " - " ends them.
  auto dash = line.find(" - ");
  if (dash == std::string::npos) return false;
  std::istringstream before(line.substr(0, dash));
  std::istringstream after(line.substr(dash + 3));
  std::string dev, point;
  if (!(before >> m.id >> m.parent >> dev >> m.root >> point >> m.options)) return false;
  if (!(after >> m.fstype >> m.source)) return false;
  after >> m.super_options;  // absent on some filesystems' lines
  m.root = unescape_octal(m.root);
  m.mount_point = unescape_octal(point);
  m.source = unescape_octal(m.source);
  return true;
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(const std::string& text) {
  std::vector<MountInfo> mounts;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    MountInfo m;
    if (parse_line(line, m)) mounts.push_back(std::move(m));
  }
  return mounts;
}

std::vector<MountInfo> read_mountinfo(const std::filesystem::path& p) {
  return parse_mountinfo(read_file(p));
}

}  // namespace mctr::fs
