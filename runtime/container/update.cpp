#include "container/update.h"

#include "container/lifecycle.h"
#include "container/resource_flags.h"
#include "util/error.h"

namespace mctr::container {

namespace {

void check_one(const Config& cfg, const UpdateRequest& req) {
  check_resources(merge_resources(cfg.resources, req.change));
  if (req.restart && req.restart->name != RestartName::kNo && cfg.auto_remove)
    throw Error("Restart policy cannot be updated because AutoRemove is enabled for the container");
}

}  // namespace

void check_update(const Store& store, const std::vector<std::string>& refs, const UpdateRequest& req) {
  for (const auto& ref : refs) {
    std::string id;
    try {
      id = store.resolve(ref);
    } catch (const Error&) {
      continue;  // reported by update_container, with the others' results
    }
    check_one(store.config(id), req);
  }
}

void update_container(const Store& store, const std::string& id, const UpdateRequest& req) {
  auto lock = store.lock(id);
  auto cfg = store.config(id);
  check_one(cfg, req);
  cfg.resources = merge_resources(cfg.resources, req.change);
  if (req.restart) cfg.restart = *req.restart;
  const auto s = observed_state(store, id);
  // A restarting container gets its group from the new config at its next start.
  if (s.status == Status::kRunning && !s.restarting) cgroup::make_manager(id)->apply(req.change);
  store.save_config(cfg);
}

}  // namespace mctr::container
