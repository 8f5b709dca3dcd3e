// cgroup v1 (legacy and hybrid hosts): one hierarchy per controller, each
// mounted at <root>/<ctrl>. The container gets a group in each:
// <root>/memory/minictr/<id>, <root>/cpu/minictr/<id>, ...
#pragma once

#include <map>
#include <vector>

#include "linux/cgroup/manager.h"

namespace mctr::cgroup {

class V1Manager : public Manager {
 public:
  // mounts: controller -> mount point, as found by detect_layout().
  V1Manager(const std::map<std::string, std::filesystem::path>& mounts, const std::string& id);
  // The group at <mount>/<where.relative> in each hierarchy.
  V1Manager(const std::map<std::string, std::filesystem::path>& mounts, const GroupPath& where);

  void create() override;
  void apply(const Resources& r) override;
  void add_pid(pid_t pid) override;
  void join_self() override;
  std::vector<UniqueFd> open_join_files() const override;
  void allow_devices(const std::vector<DeviceRule>& rules) override;
  Stats stats() const override;
  uint64_t cpu_usage_ns() const override;
  bool oom_killed() const override;
  void set_frozen(bool frozen) override;
  bool is_frozen() const override;
  void destroy() override;
  Version version() const override { return Version::kV1; }
  std::string path() const override;
  bool exists() const override;
  std::vector<pid_t> pids() const override;

 private:
  // The group directory of a controller; empty path when it is not mounted.
  std::filesystem::path dir(const std::string& controller) const;
  void apply_memory(const Resources& r);
  void freeze_and_kill();
  // mkdir the missing groups between the hierarchy's mount and `d`'s parent.
  void make_parents(const std::filesystem::path& d, bool is_cpuset) const;
  // --explain: what make_parents does, shown whether or not it runs.
  void explain_parents() const;

  std::map<std::string, std::filesystem::path> dirs_;                // controller -> group dir
  std::vector<std::filesystem::path> unique_dirs_;                   // co-mounted controllers share one
  std::map<std::filesystem::path, std::filesystem::path> mount_of_;  // group dir -> its hierarchy
};

}  // namespace mctr::cgroup
