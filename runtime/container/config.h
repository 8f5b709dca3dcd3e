// The container's config: the image config merged with the `run` flags.
// Written once to <root>/containers/<id>/config.json; close to an OCI
// runtime-spec config.json so the OCI verbs can share the code later.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  std::string network_mode = "bridge";  // bridge | none | host
  std::vector<net::PortMapping> ports;
  cgroup::Resources resources;
  security::Options security;
  // json-file options (--log-opt), Docker's HostConfig.LogConfig.Config;
  // see container/logfile.h for the keys and defaults.
  std::map<std::string, std::string> log_config;

  std::string created;  // RFC 3339
};

void to_json(nlohmann::json& j, const Config& c);
void from_json(const nlohmann::json& j, Config& c);
}  // namespace mctr::container

namespace mctr::cgroup {
// JSON with Docker's HostConfig names (Memory, NanoCpus, PidsLimit, ...).
void to_json(nlohmann::json& j, const Resources& r);
void from_json(const nlohmann::json& j, Resources& r);
}  // namespace mctr::cgroup
