#include "linux/cgroup/detect.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <algorithm>
#include <iterator>
#include <string_view>
#include <vector>

#include "util/fs.h"
#include "util/mountinfo.h"
#include "util/text.h"

namespace mctr::cgroup {

namespace {

// The v1 controllers the kernel knows; other mount options are ignored.
// (An array, not a std::set: nothing to construct before main().)
constexpr std::string_view kV1Controllers[] = {"cpu",        "cpuacct", "cpuset", "memory",  "devices",
                                               "freezer",    "blkio",   "pids",   "net_cls", "net_prio",
                                               "perf_event", "hugetlb", "rdma",   "misc"};

bool is_v1_controller(std::string_view name) {
  return std::find(std::begin(kV1Controllers), std::end(kV1Controllers), name) != std::end(kV1Controllers);
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
  for (const auto& m : fs::parse_mountinfo(mountinfo)) {
    // "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory"
    if (!at_or_below(m.mount_point, root)) continue;
    if (m.fstype == "cgroup2") {
      // A pure-v2 mount at root wins over a hybrid's .../unified.
      if (h.unified.empty() || m.mount_point == root) h.unified = m.mount_point;
    } else if (m.fstype == "cgroup") {
      for (std::string_view opt : text::split(m.super_options, ','))
        if (is_v1_controller(opt)) h.v1[std::string(opt)] = m.mount_point;
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
      for (std::string_view ctrl : text::split(name, ','))
        if (is_v1_controller(ctrl)) h.v1[std::string(ctrl)] = entry.path();
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
