// cgroup v2 (unified hierarchy): one tree, the container's group is
// <mount>/minictr/<id>, limits are files like memory.max and cpu.max.
#pragma once

#include "linux/cgroup/manager.h"

namespace mctr::cgroup {

class V2Manager : public Manager {
 public:
  V2Manager(std::filesystem::path mount, const std::string& id);
  // The group at <mount>/<where.relative>.
  V2Manager(std::filesystem::path mount, const GroupPath& where);

  void create() override;
  void apply(const Resources& r) override;
  void add_pid(pid_t pid) override;
  void join_self() override;
  std::vector<UniqueFd> open_join_files() const override;
  Stats stats() const override;
  uint64_t cpu_usage_ns() const override;
  bool oom_killed() const override;
  bool can_clone_into() const override { return true; }
  int open_for_clone() const override;
  void set_frozen(bool frozen) override;
  bool is_frozen() const override;
  void destroy() override;
  Version version() const override { return Version::kV2; }
  std::string path() const override { return dir_; }
  void allow_devices(const std::vector<DeviceRule>& rules) override;
  bool exists() const override;
  std::vector<pid_t> pids() const override;

 private:
  // Let the children of `dir` use our controllers (cgroup.subtree_control).
  void enable_controllers(const std::filesystem::path& dir) const;
  // --explain: what create() does for the shared parents, shown whether or not it does it.
  void explain_parents() const;
  void apply_memory(const Resources& r);

  std::filesystem::path mount_;   // /sys/fs/cgroup
  std::filesystem::path parent_;  // /sys/fs/cgroup/minictr (any depth below mount_)
  std::filesystem::path dir_;     // /sys/fs/cgroup/minictr/<id>
};

}  // namespace mctr::cgroup
