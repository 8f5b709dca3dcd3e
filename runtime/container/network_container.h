// `run --network container:NAME|ID`: the container joins another one's
// network namespace (Docker's "container" network mode, what a Kubernetes
// pod's containers do with their sandbox): no veth and no address of its
// own, the other's interfaces, ports, hostname, /etc/hosts and resolv.conf
// (the same files, not copies, so later updates show in both).
#pragma once

#include <filesystem>
#include <string>

#include "container/state.h"

namespace mctr::container {

// The network mode to record for `--network container:REF` (the target's full
// id); refuses, as Docker, an unknown container, published ports and a
// hostname (125).
NetworkMode joined_network_mode(const Store& store, const NetworkMode& requested, bool publishes_ports,
                                const std::string& hostname);
// The hostname of the container `mode` joins (Docker gives it the other's).
std::string joined_hostname(const Store& store, const NetworkMode& mode);

// Supervisor, before the clone: move this thread into the network namespace
// of the container that `cfg` joins, so the child is born in it. Throws
// (125) when that container is not running. No-op for other modes.
void enter_joined_network(const Store& store, const Config& cfg);

// The host file bind-mounted on /etc/<name> ("hostname", "hosts",
// "resolv.conf") of container `cfg`, whose state dir is `dir`: the one in
// `dir`, but for hosts and resolv.conf of a container that joins another's
// network namespace, that container's own (Docker points HostsPath and
// ResolvConfPath there). A bind mount follows the inode: this works because
// both files are rewritten in place while the other container runs
// (hosts_file.h, network_connect.cpp); its next start writes new ones, and
// the joiner, whose namespace died with it, must be started again anyway.
std::filesystem::path etc_file_path(const std::filesystem::path& dir, const Config& cfg,
                                    const std::string& name);

}  // namespace mctr::container
