// A compose file (the Compose Specification's common subset) as a resolved
// model: variables interpolated, short and long syntaxes brought to one form,
// relative paths made absolute, names given as Compose gives them
// (`<project>_default`, `<project>_<volume>`), references checked. Nothing
// here touches the state root: runtime/compose/project.h acts on the model.
//
// Every error names the file, the line and the key:
//   compose.yaml:12:9: services.web.ports[0]: invalid port "80:80:80:80"
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mctr::compose {

struct BuildSpec {
  std::filesystem::path context;     // absolute
  std::filesystem::path dockerfile;  // absolute; "" = CONTEXT/Dockerfile
  std::map<std::string, std::string> args;
};

struct VolumeMount {
  std::string type;    // "volume" (a key of Project::volumes) or "bind"
  std::string source;  // the volume's key, or an absolute host path
  std::string target;  // absolute path in the container
  bool read_only = false;
};

struct Dependency {
  std::string service;
  // service_started | service_healthy | service_completed_successfully
  std::string condition = "service_started";
};

// `healthcheck:`: the test as Docker's HEALTHCHECK keeps it
// (["CMD", ...], ["CMD-SHELL", "..."]); durations as written ("10s").
struct Healthcheck {
  bool disable = false;
  std::vector<std::string> test;
  std::string interval, timeout, start_period;
  int retries = 0;  // 0 = the default (3)
};

struct Service {
  std::string name;
  int line = 0;  // of its key, 1-based, for messages

  std::string image;  // "" with build only: the project names it <project>-<service>
  std::optional<BuildSpec> build;
  std::optional<std::vector<std::string>> command, entrypoint;
  std::vector<std::string> environment;  // "KEY=VALUE", or "KEY" (taken from our environment)
  std::vector<std::filesystem::path> env_files;
  std::vector<std::string> ports;  // as `run -p` takes them: "[ip:][host:]container[/proto]"
  std::vector<std::string> expose;
  std::vector<VolumeMount> volumes;
  std::vector<std::string> networks;  // keys of Project::networks, "default" when none is given
  std::map<std::string, std::vector<std::string>> network_aliases;  // per network: --network-alias
  std::vector<Dependency> depends_on;
  std::optional<Healthcheck> healthcheck;
  std::string restart;  // "" (no) | no | always | on-failure[:N] | unless-stopped
  int replicas = 1;
  std::optional<double> cpus;
  std::optional<std::string> memory;  // "256m", checked with util/size.h
  std::string hostname, working_dir, user, container_name;
  std::map<std::string, std::string> labels;
  bool tty = false, stdin_open = false, init = false;

  // The image `up` runs: `image`, or what `build` tags.
  std::string image_for(const std::string& project) const;
};

struct NetworkDef {
  std::string name;  // the minictr network: <project>_<key>, `name:`, or the external one's
  bool external = false;
  std::string subnet;  // ipam.config[0].subnet; "" = the first free one
};

struct VolumeDef {
  std::string name;  // <project>_<key>, `name:`, or the external one's
  bool external = false;
};

struct Project {
  std::string name;
  std::filesystem::path file;     // the compose file
  std::filesystem::path dir;      // its directory: relative paths and .env are read from here
  std::vector<Service> services;  // in file order
  std::map<std::string, NetworkDef> networks;
  std::map<std::string, VolumeDef> volumes;
  // For the CLI to print, as Compose does: 'The "X" variable is not set. Defaulting to a blank string.'
  std::vector<std::string> warnings;

  const Service& service(const std::string& name) const;  // throws "no such service: X"
};

// A variable's value, or nullopt when unset.
using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

// `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
// `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` (a literal `$`).
// An unset variable without a default is "" (Compose warns; we do too,
// through `warn`). Throws Error (no location: the caller adds it).
std::string interpolate(const std::string& text, const Lookup& lookup,
                        const std::function<void(const std::string& var)>& warn = {});

// A .env file: KEY=VALUE lines, `#` comments, blank lines, an optional
// `export `, values in single quotes (literal) or double quotes (\n, \", \\).
// Throws Error naming the line.
std::map<std::string, std::string> parse_dotenv(const std::string& text, const std::string& file);

// Compose's rule: lowercase; only a-z, 0-9, '_' and '-'; starting with a
// letter or digit. `normalize` drops other characters (for a directory
// name); without it, a bad name is an error (-p).
std::string project_name(const std::string& raw, bool normalize);

struct LoadOptions {
  std::filesystem::path file;  // "" = compose.yaml, compose.yml, docker-compose.yaml, -yml in the cwd
  std::string project_name;    // -p; "" = COMPOSE_PROJECT_NAME, the file's `name:`, the directory's
  // Variables: the process environment, then the .env file beside the compose file.
  Lookup environment;  // "" = the process environment
};

// Read, interpolate, check. Throws Error (125) as "file:line:column: key: what".
Project load_project(const LoadOptions& o);

// The same from text (unit tests): `file` names it in messages, `dir` is
// where relative paths point.
Project parse_project(const std::string& yaml, const std::string& file, const std::filesystem::path& dir,
                      const std::string& name_flag, const Lookup& lookup);

// Services in an order where each comes after those it depends on (file
// order otherwise). Throws Error naming the cycle ("a -> b -> a").
std::vector<std::string> start_order(const Project& p);

// The resolved model as YAML (`compose config`).
std::string to_yaml(const Project& p);
// One service of it (what `up` compares to decide on a recreate).
std::string service_yaml(const Project& p, const Service& s);

}  // namespace mctr::compose
