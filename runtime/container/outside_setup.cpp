#include "container/outside_setup.h"

#include "container/etc_files.h"
#include "container/from_bundle.h"
#include "container/network_connect.h"
#include "container/network_container.h"
#include "container/network_dns.h"
#include "container/networks.h"
#include "linux/net/balanced.h"
#include "util/explain.h"
#include "util/parallel.h"

namespace mctr::container {

// The network whose bridge the container attaches to; the default bridge's
// object stands unused for the modes that have none.
static std::string bridge_network(const NetworkMode& mode) {
  return mode.attaches_to_bridge() ? mode.network_name() : "bridge";
}

OutsideSetup::OutsideSetup(const Store& store, const Config& cfg, const oci::Spec& bundle)
    : store_(store),
      cfg_(cfg),
      bundle_(bundle),
      network_(Networks(store).open(bridge_network(cfg.network_mode))) {
  // --network container:ID: this thread moves into that container's network
  // namespace, so the child is born in it.
  enter_joined_network(store, cfg);
}

OutsideSetup::~OutsideSetup() {
  try {
    undo();
  } catch (const std::exception&) {
    // Undoing a start that threw: the error that got us here is the one to report.
  }
}

void OutsideSetup::undo() {
  if (torn_down_) return;
  torn_down_ = true;
  if (attachment_) network_.detach(cfg_.id);
  release_connected_networks(store_, cfg_.id);  // what `network connect` added
  if (cg_) {
    cg_->destroy();  // also after a create() that failed half-way: destroy is idempotent
    explain::step("rmdir(2)", "rmdir " + cg_->path());  // after destroy's own steps (the kill)
  }
}

cgroup::Manager& OutsideSetup::cgroup() {
  // Made here, not in the constructor: its manager reads
  // /proc/self/mountinfo, which the memory-sharing start does on its
  // second thread while the child mounts.
  if (!cg_) cg_ = cgroup::make_manager(cfg_.id);
  return *cg_;
}

void OutsideSetup::make_cgroup() {
  cgroup::Manager& cg = cgroup();
  cg.create();  // its steps show the parents and the mkdir
  cg.apply(cgroup_resources(bundle_));
  // Which device nodes the container may mknod and open: the bundle's
  // linux.resources.devices (Docker's list: null, zero, random, tty, pts, ...).
  cg.allow_devices(device_allow_rules(bundle_));
  cgroup_made_ = true;
}

void OutsideSetup::attach_network(pid_t child) {
  if (!cfg_.network_mode.attaches_to_bridge()) return;
  const auto dir = store_.dir(cfg_.id);
  attachment_ = network_.attach({cfg_.id, cfg_.name, cfg_.ports, cfg_.network_aliases}, child);
  // Out of its balanced ports' rotation until its healthcheck passes (balanced.h),
  // before its program starts.
  if (cfg_.healthcheck) net::set_member_health(network_.options(), cfg_.id, "starting");
  // As Docker: /etc/hosts names only the container itself (no peers: on the
  // default bridge containers reach each other by address, on a user network
  // by its name server). Keeping N peers' files up to date made every start
  // rewrite N files (docs/performance.md, Density).
  write_etc_files(dir, etc_files_of(cfg_), attachment_->ip, {}, attachment_->ip6,
                  network_name_server(store_, cfg_.network_mode, cfg_.id, child));
  for (const char* f : {"hostname", "hosts", "resolv.conf"}) explain::file_written(dir / f);
  reconnect_networks(store_, cfg_,
                     child);  // what `network connect` added, in an earlier run or while stopped
}

void OutsideSetup::begin_teardown() {
  torn_down_ = true;
  if (attachment_) pending_detach_.emplace(network_.detach_later(cfg_.id));
}

// Every process of the container is dead by now (the kernel kills a PID
// namespace with its init), so none of this is observable, and the veth's
// deletion alone waits in the kernel (an RCU barrier): it runs after the
// CLI has its answer. `rm`, `system prune` and the next attach take the
// same locks, and so wait for it.
void OutsideSetup::finish_teardown() {
  run_both(
      [&] {
        if (!cg_) return;
        cg_->destroy();  // traces its kill first
        explain::step("rmdir(2)", "rmdir " + cg_->path() + "   # after killing anything left in it");
      },
      [&] { pending_detach_.reset(); });
  release_connected_networks(store_, cfg_.id);  // what `network connect` added
}

}  // namespace mctr::container
