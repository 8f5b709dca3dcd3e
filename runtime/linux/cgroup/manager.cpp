#include "linux/cgroup/manager.h"

#include <unistd.h>

#include <algorithm>

#include "linux/cgroup/common.h"
#include "linux/cgroup/detect.h"
#include "linux/cgroup/v1.h"
#include "linux/cgroup/v2.h"
#include "util/error.h"

namespace mctr::cgroup {

namespace {

void check_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
    throw Error("invalid cgroup name '" + id + "'");
}

void check_group_path(const std::string& rel) {
  if (rel.empty() || rel.front() == '/') throw Error("invalid cgroup path '" + rel + "'");
  for (const auto& part : std::filesystem::path(rel))
    if (part == ".." || part == ".") throw Error("invalid cgroup path '" + rel + "': no . or .. allowed");
}

}  // namespace

const char* to_string(Version v) { return v == Version::kV1 ? "v1" : "v2"; }

void join_with(const std::vector<UniqueFd>& join_files) {
  // "0": the writer itself (see join_self).
  for (const auto& f : join_files) check_sys(::write(f.get(), "0", 1), "write", "cgroup tasks");
}

std::unique_ptr<Manager> make_manager(const std::string& id, const std::filesystem::path& cgroup_root) {
  const HostLayout host = detect_layout(cgroup_root);
  if (host.layout == Layout::kNone) throw Error("no cgroup hierarchy found at " + cgroup_root.string());
  return make_manager(id, host);
}

std::unique_ptr<Manager> make_manager(const std::string& id, const HostLayout& host) {
  check_id(id);
  switch (host.layout) {
    case Layout::kUnified:
      return std::make_unique<V2Manager>(host.unified, id);
    case Layout::kHybrid:  // hybrid: the controllers are on the v1 side
    case Layout::kLegacy:
      return std::make_unique<V1Manager>(host.v1, id);
    case Layout::kNone:
      break;
  }
  throw Error("no cgroup hierarchy found");
}

std::unique_ptr<Manager> make_manager_at(const GroupPath& where, const std::filesystem::path& cgroup_root) {
  check_group_path(where.relative);
  HostLayout host = detect_layout(cgroup_root);
  switch (host.layout) {
    case Layout::kUnified:
      return std::make_unique<V2Manager>(host.unified, where);
    case Layout::kHybrid:
    case Layout::kLegacy:
      return std::make_unique<V1Manager>(host.v1, where);
    case Layout::kNone:
      break;
  }
  throw Error("no cgroup hierarchy found at " + cgroup_root.string());
}

namespace {

std::vector<std::filesystem::path> parent_groups(const std::filesystem::path& cgroup_root) {
  HostLayout host = detect_layout(cgroup_root);
  std::vector<std::filesystem::path> parents;
  if (host.layout == Layout::kUnified) parents.push_back(host.unified / "minictr");
  for (const auto& [ctrl, mount] : host.v1) parents.push_back(mount / "minictr");
  return parents;
}

}  // namespace

void remove_unused_parents(const std::filesystem::path& cgroup_root) {
  // rmdir fails with EBUSY while a container's group is in it: then it stays.
  for (const auto& p : parent_groups(cgroup_root)) ::rmdir(p.c_str());
}

std::vector<std::string> list_groups(const std::filesystem::path& cgroup_root) {
  std::vector<std::string> ids;
  for (const auto& p : parent_groups(cgroup_root))
    for (auto& id : detail::child_dirs(p))
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace mctr::cgroup
