#include "runc/ops.h"

#include "container/from_bundle.h"
#include "linux/cgroup/manager.h"
#include "util/error.h"

namespace mctr::runc {

namespace {

std::unique_ptr<cgroup::Manager> group_of(const ContainerState& s) {
  if (s.cgroup_path.empty()) throw Error("container " + s.id + " has no cgroup");
  return cgroup::make_manager_at({s.cgroup_path});
}

}  // namespace

std::vector<pid_t> container_pids(const Store& store, const std::string& id) {
  ContainerState s = store.load(id);
  if (current_status(store, s) == Status::kStopped) return {};
  auto cg = group_of(s);
  if (!cg->exists()) return {s.init_pid};
  return cg->pids();
}

void pause_container(const Store& store, const std::string& id) {
  ContainerState s = store.load(id);
  Status st = current_status(store, s);
  if (st != Status::kRunning && st != Status::kCreated) throw Error("container not running");
  group_of(s)->set_frozen(true);
}

void resume_container(const Store& store, const std::string& id) {
  ContainerState s = store.load(id);
  if (current_status(store, s) != Status::kPaused) throw Error("container not paused");
  group_of(s)->set_frozen(false);
}

void update_container(const Store& store, const std::string& id, const std::string& resources_json) {
  ContainerState s = store.load(id);
  if (current_status(store, s) == Status::kStopped) throw Error("container not running");
  nlohmann::json r;
  try {
    r = nlohmann::json::parse(resources_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("--resources: ") + e.what());
  }
  // The spec's own checks, field by field, as for a config.json.
  oci::Spec parsed =
      oci::parse_spec({{"ociVersion", oci::kVersion}, {"linux", {{"resources", r}}}}, "resources");
  group_of(s)->apply(container::cgroup_resources(parsed));
  if (!s.spec.linux_) s.spec.linux_ = oci::Linux{};
  // Only the fields given change; the others stay as they were.
  auto& kept = s.spec.linux_->resources;
  if (!kept) kept = oci::Resources{};
  const auto& in = *parsed.linux_->resources;
  if (in.memory) kept->memory = in.memory;
  if (in.cpu) kept->cpu = in.cpu;
  if (in.pids) kept->pids = in.pids;
  store.save(s);
}

}  // namespace mctr::runc
