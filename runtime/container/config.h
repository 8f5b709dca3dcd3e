// The container's config: the image config merged with the `run` flags.
// Written once to <root>/containers/<id>/config.json; close to an OCI
// runtime-spec config.json so the OCI verbs can share the code later.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "container/network_mode.h"
#include "linux/cgroup/manager.h"
#include "linux/net/network.h"
#include "linux/security/security.h"

namespace mctr::container {

struct Mount {
  std::string type;         // "bind" or "volume"
  std::string source;       // host path (bind) or volume directory (volume)
  std::string name;         // volume name (volume only)
  std::string destination;  // path inside the container
  bool read_only = false;
};

// Docker's HostConfig.RestartPolicy (container/restart.h parses and applies it).
// Docker's HostConfig.RestartPolicy.Name.
enum class RestartName { kNo, kOnFailure, kAlways, kUnlessStopped };
std::string_view to_string(RestartName n);  // "no", "on-failure", "always", "unless-stopped"
// Throws Error (125) with Docker's wording on any other word; "" is "no".
RestartName restart_name_from_string(std::string_view s);

struct RestartPolicy {
  RestartName name = RestartName::kNo;
  int max_retries = 0;  // on-failure:N; 0 = no limit
};

// Docker's Config.Healthcheck (container/health.h runs it). Durations in
// nanoseconds; 0 = Docker's default.
struct Healthcheck {
  std::vector<std::string> test;  // {"CMD-SHELL", cmd} | {"CMD", exe, args...}
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;
  int retries = 0;
};

struct Config {
  std::string id;
  std::string name;
  std::string image;                    // the reference the user gave
  std::string image_id;                 // sha256:...
  std::vector<std::string> layer_dirs;  // lowest first

  std::vector<std::string> entrypoint;  // as resolved from the image and --entrypoint
  std::vector<std::string> cmd;         // as resolved from the image and the run arguments
  std::vector<std::string> args;        // entrypoint + cmd: what the init executes
  std::vector<std::string> env;
  std::string working_dir = "/";
  std::string user;  // "", "name", "uid", "uid:gid"
  std::string hostname;

  bool tty = false;
  bool interactive = false;
  bool auto_remove = false;
  bool read_only_rootfs = false;

  std::vector<Mount> mounts;
  NetworkMode network_mode;                  // bridge | none | host | container:ID | a user network
  std::vector<std::string> network_aliases;  // --network-alias: names the user network's DNS also answers
  std::vector<net::PortMapping> ports;
  cgroup::Resources resources;
  security::Options security;
  // json-file options (--log-opt), Docker's HostConfig.LogConfig.Config;
  // see container/logfile.h for the keys and defaults.
  std::map<std::string, std::string> log_config;
  RestartPolicy restart;
  std::optional<Healthcheck> healthcheck;  // none: no check (or HEALTHCHECK NONE)
  bool init = false;                       // --init: minictr-init as PID 1
  // With --init, the host's minictr-init, found at create next to the CLI's
  // binary: the supervisor, which makes `run`'s bundle, runs from a copy of
  // that binary that names no host path.
  std::string init_path;
  // --userns: "" for the host's user namespace, else the one range
  // "0:HOST_ID:SIZE" (remap resolved at create) for both uids and gids.
  std::string userns;

  std::string created;  // RFC 3339
};

void to_json(nlohmann::json& j, const Config& c);
void from_json(const nlohmann::json& j, Config& c);
// A Healthcheck object as Docker writes it (image config, config.json).
Healthcheck healthcheck_from(const nlohmann::json& j);
}  // namespace mctr::container

namespace mctr::cgroup {
// JSON with Docker's HostConfig names (Memory, NanoCpus, PidsLimit, ...).
void to_json(nlohmann::json& j, const Resources& r);
void from_json(const nlohmann::json& j, Resources& r);
}  // namespace mctr::cgroup
