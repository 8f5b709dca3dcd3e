// What the verbs do to containers: create from an image, start, stop, kill,
// remove. The CLI parses flags into a RunOptions and prints the results.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "container/config.h"
#include "container/state.h"
#include "image/store.h"
#include "util/fd.h"

namespace mctr::container {

struct RunOptions {
  std::string image;
  std::vector<std::string> cmd;
  std::optional<std::string> entrypoint;
  std::vector<std::string> env;        // -e KEY=VALUE or -e KEY (from our env)
  std::vector<std::string> env_files;  // --env-file
  std::string workdir, user, hostname, name;
  std::vector<std::string> volumes;  // -v host:ctr[:ro] | name:ctr[:ro]
  std::vector<std::string> ports;    // -p
  bool publish_all = false;          // -P
  std::string network = "bridge";
  std::vector<std::string> network_aliases;  // --network-alias (user networks only)
  bool tty = false, interactive = false, detach = false, auto_remove = false, read_only = false;
  cgroup::Resources resources;
  security::Options security;
  std::vector<std::string> log_opts;  // --log-opt KEY=VALUE
  // --restart: "no" (or ""), "on-failure", "on-failure:N", "always", "unless-stopped".
  std::string restart;
  bool init = false;  // --init: minictr-init as PID 1, in front of the command
  // --userns: "host" (or ""), "remap", or CONTAINER_ID:HOST_ID:SIZE (resolve_userns).
  std::string userns;
  // Health check (Docker's HealthConfig), all text as the flags and Compose give it:
  // health_test in Docker's form: {"CMD-SHELL", "curl -f localhost"}, {"CMD", "curl", ...},
  // or {"NONE"} (--no-healthcheck); empty = the image's HEALTHCHECK. Durations
  // in Go's syntax ("30s", "1m30s", "500ms"); "" or 0 = the image's or Docker's
  // default (interval 30s, timeout 30s, start period 0, retries 3).
  std::vector<std::string> health_test;
  std::string health_interval, health_timeout, health_start_period;
  int health_retries = 0;
};

// When a new container's bundle is made and written: by `create` itself, or
// by the start that follows at once (`run`: its supervisor makes the spec
// and writes it while the init mounts, instead of reading back what the CLI
// wrote a moment before). Either way every flag the spec is made from is
// checked here, so a bad flag fails the create.
enum class WriteBundle { kNow, kAtStart };

// Merge image config and options into a new container (state "created").
Config create_container(const Store& store, image::Store& images, const RunOptions& o,
                        WriteBundle when = WriteBundle::kNow);
// The root filesystem of container `cfg`, made by the CLI before "go" and
// sent with it (SupervisorHandle::start): upper/ and work/, and the overlay
// made but not mounted anywhere yet (rootfs::make_detached_overlay), which
// its init attaches. Overlayfs's superblock and its checks of work/ leave the
// way from "go" to the container's command. None with --userns (the init
// mounts an idmapped tree) or when the kernel refuses: the init mounts it.
UniqueFd make_overlay_in_advance(const Store& store, const Config& cfg);
// Whether the container `o` creates gets a network namespace of its own
// that its supervisor can make in advance: not the host's, not another
// container's, and no user namespace (which would have to own it).
bool gets_own_network_namespace(const RunOptions& o);

// Parse "-v" specs; named volumes live in <root>/volumes/<name>/_data.
Mount parse_volume(const Store& store, const std::string& spec);

struct StopResult {
  bool was_running = false;
};
void kill_container(const Store& store, const std::string& id, int sig);
// SIGTERM, then SIGKILL after `timeout_s`; waits until the supervisor has recorded the exit.
StopResult stop_container(const Store& store, const std::string& id, int timeout_s);
// Remove the container; with force, kill it first. Also cleans what a killed
// supervisor left: processes, cgroup, network.
void remove_container(const Store& store, const std::string& id, bool force);
// Remove what is left of an unlisted container (Store::unlisted_ids) whose
// supervisor is gone: processes, cgroup, network, directory. Returns false
// (and does nothing) while its supervisor still runs: it is removing it.
bool remove_unlisted(const Store& store, const std::string& id);

// Whatever a supervisor killed with SIGKILL left behind: processes in the
// cgroup, the cgroup itself, the veth, the nft rules and the address lease.
// Idempotent; for a container whose supervisor is not running (rm, start).
void reclaim_leftovers(const Store& store, const std::string& id);
// Wait until the container is no longer running and its supervisor has
// finished tearing it down (or timeout); true if stopped.
bool wait_not_running(const Store& store, const std::string& id, int timeout_ms);

// Before `start`: false when the container runs already (nothing to do).
// Else waits for the last run's teardown (Error after 10 s) and reclaims
// what a supervisor that died left of it.
bool prepare_start(const Store& store, const std::string& id);

// Parse "SIGKILL", "KILL", "9" -> 9. Throws Error on an unknown name.
int parse_signal(const std::string& s);

}  // namespace mctr::container
