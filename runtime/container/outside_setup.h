// What the supervisor sets up for a container from the outside, in the
// host's namespaces, while the container's init builds its root filesystem
// inside: the cgroup (limits, device allow-list) and, on a bridge network,
// the veth pair, address, published ports and the /etc files that name
// them. Everything made is undone when this object goes, unless the
// container ran: then tear_down_after_exit() takes it down.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "container/config.h"
#include "container/state.h"
#include "linux/cgroup/manager.h"
#include "linux/net/network.h"
#include "oci/spec.h"

namespace mctr::container {

class OutsideSetup {
 public:
  OutsideSetup(const Store& store, const Config& cfg, const oci::Spec& bundle);
  ~OutsideSetup();  // undoes what was made: a start that failed or threw
  OutsideSetup(const OutsideSetup&) = delete;
  OutsideSetup& operator=(const OutsideSetup&) = delete;

  // mkdir the container's cgroup, write its limits and device allow-list.
  // Before the clone on cgroup v2 (the child is born in it), else after.
  void make_cgroup();
  bool cgroup_made() const { return cgroup_made_; }
  cgroup::Manager& cgroup();

  // On a bridge network: the veth pair into the child's network namespace,
  // its address and ports, and its /etc/hosts and resolv.conf.
  void attach_network(pid_t child);
  const std::optional<net::Attachment>& attachment() const { return attachment_; }

  // The start failed: remove the veth and the cgroup now, before the CLI
  // hears of it (when `run` returns, nothing of it is left).
  void undo();

  // The container ran and exited. begin: its address and ports stay
  // reserved (under the IPAM lock) until finish() has removed the veth and
  // the cgroup (both wait in the kernel, so they run side by side).
  void begin_teardown();
  void finish_teardown();

 private:
  const Store& store_;
  const Config& cfg_;
  const oci::Spec& bundle_;
  std::unique_ptr<cgroup::Manager> cg_;
  bool cgroup_made_ = false;
  net::Network network_;
  std::optional<net::Attachment> attachment_;
  std::optional<net::Network::PendingDetach> pending_detach_;
  bool torn_down_ = false;
};

}  // namespace mctr::container
