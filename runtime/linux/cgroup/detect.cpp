#include "linux/cgroup/detect.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cctype>
#include <set>
#include <sstream>
#include <vector>

#include "util/fs.h"

namespace mctr::cgroup {

namespace {

// The v1 controllers the kernel knows; other mount options are ignored.
const std::set<std::string> kV1Controllers = {"cpu",        "cpuacct", "cpuset", "memory",  "devices",
                                              "freezer",    "blkio",   "pids",   "net_cls", "net_prio",
                                              "perf_event", "hugetlb", "rdma",   "misc"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

// mountinfo escapes spaces etc. as \040 (octal).
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && isdigit(s[i + 1]) && isdigit(s[i + 2]) && isdigit(s[i + 3])) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool at_or_below(const std::filesystem::path& mnt, const std::filesystem::path& root) {
  return mnt == root || mnt.parent_path() == root;
}

void classify(HostLayout& h, const std::filesystem::path& root) {
  if (!h.unified.empty() && h.unified == root)
    h.layout = Layout::kUnified;
  else if (!h.v1.empty())
    h.layout = h.unified.empty() ? Layout::kLegacy : Layout::kHybrid;
  else
    h.layout = Layout::kNone;
}

}  // namespace

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::kUnified:
      return "unified (v2)";
    case Layout::kHybrid:
      return "hybrid (v1 + v2)";
    case Layout::kLegacy:
      return "legacy (v1)";
    case Layout::kNone:
      break;
  }
  return "none";
}

HostLayout parse_mountinfo(const std::string& mountinfo, const std::filesystem::path& root) {
  HostLayout h;
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    // "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory"
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = split(line.substr(0, dash), ' ');
    std::istringstream post(line.substr(dash + 3));
    std::string fstype, source, super_opts;
    if (pre.size() < 5 || !(post >> fstype >> source >> super_opts)) continue;
    std::filesystem::path mnt = unescape_octal(pre[4]);
    if (!at_or_below(mnt, root)) continue;
    if (fstype == "cgroup2") {
      // A pure-v2 mount at root wins over a hybrid's .../unified.
      if (h.unified.empty() || mnt == root) h.unified = mnt;
    } else if (fstype == "cgroup") {
      for (const auto& opt : split(super_opts, ','))
        if (kV1Controllers.count(opt)) h.v1[opt] = mnt;
    }
  }
  classify(h, root);
  return h;
}

HostLayout probe_directory(const std::filesystem::path& root) {
  HostLayout h;
  if (std::filesystem::exists(root / "cgroup.controllers")) {
    h.unified = root;
  } else if (std::filesystem::is_directory(root)) {
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
      if (!entry.is_directory() || entry.is_symlink()) continue;
      std::string name = entry.path().filename();
      if (name == "unified" && std::filesystem::exists(entry.path() / "cgroup.controllers")) {
        h.unified = entry.path();
        continue;
      }
      for (const auto& ctrl : split(name, ','))
        if (kV1Controllers.count(ctrl)) h.v1[ctrl] = entry.path();
    }
  }
  classify(h, root);
  return h;
}

HostLayout detect_layout(const std::filesystem::path& root) {
  HostLayout h = parse_mountinfo(fs::read_file("/proc/self/mountinfo"), root);
  if (h.layout == Layout::kNone) h = probe_directory(root);
  return h;
}

bool is_unified(const std::filesystem::path& root) {
  struct statfs st {};
  return ::statfs(root.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace mctr::cgroup
