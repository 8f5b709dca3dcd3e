// A compose project on this state root: the model (model.h) made real with
// the container/, image/ and build/ APIs — networks and volumes created,
// images built or loaded, containers `<project>-<service>-<n>` created and
// started in dependency order, and all of it removed again by `down`.
//
// minictr containers have no labels, so the project keeps who belongs to it
// in a small record, <root>/compose/<project>.json (container id, service,
// number, the hash of the service's config it was made from; the networks
// and volumes it created), changed under <root>/compose/<project>.lock.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "compose/model.h"
#include "container/state.h"

namespace mctr::compose {

struct Member {
  std::string id, service;
  int number = 0;
  bool oneoff = false;      // `compose run`
  std::string config_hash;  // of the service as it was created; `up` recreates on a change
};

struct Record {
  std::vector<Member> containers;
  std::vector<std::string> networks, volumes;  // the ones this project created
};

struct UpOptions {
  bool build = false;                 // --build: build every service with a build: first
  std::map<std::string, int> scale;   // --scale SVC=N over deploy.replicas
  std::vector<std::string> services;  // only these (and what they depend on); empty = all
};

// One line of `compose ps`.
struct PsRow {
  std::string id, name, image, service, status, ports;
  std::vector<std::string> command;
  int number = 0;
};

// A container of the project and the prefix of its log lines ("web-1").
struct LogSource {
  std::string id, prefix, service;
};

class ComposeProject {
 public:
  ComposeProject(std::filesystem::path root, Project model, std::ostream& progress);

  // Networks, volumes, images, then the services in dependency order; each
  // waits for the conditions of its depends_on. Returns the containers of the
  // services started (for `up` to follow their logs).
  std::vector<LogSource> up(const UpOptions& o);
  // Stop and remove the containers (the recorded ones too, whose service has
  // left the file), the networks the project created, with `volumes` its
  // named volumes. Idempotent.
  void down(bool volumes, int timeout_s);
  std::vector<PsRow> ps(bool all) const;
  void start();
  void stop(int timeout_s);
  void restart(int timeout_s);
  // Replicas of `service` up or down to `n` (dependencies started first).
  void scale(const std::string& service, int n);
  // The id of replica `index` of `service`; throws when it does not run.
  std::string container_of(const std::string& service, int index) const;
  // A one-off container for `compose run` (dependencies started first),
  // created but not started: the CLI starts it attached or detached.
  std::string create_oneoff(const std::string& service, const std::vector<std::string>& cmd, bool remove,
                            bool tty, bool interactive);
  // The project's containers (services in file order, replicas in order).
  std::vector<LogSource> log_sources() const;
  // Stop every container of the sources, dependents first, in parallel.
  void stop_sources(const std::vector<LogSource>& sources, int timeout_s);

  const Project& model() const { return model_; }
  // Seconds between SIGTERM and SIGKILL when up or scale removes a replica (-t).
  void set_stop_timeout(int seconds) { stop_timeout_ = seconds; }

 private:
  std::filesystem::path record_path() const;
  Record load_record() const;
  void save_record(const Record& r) const;
  void ensure_networks(Record& r, const std::vector<std::string>& services);
  void ensure_volumes(Record& r, const std::vector<std::string>& services);
  std::string ensure_image(const Service& s, bool force_build);
  // Replicas 1..n of `s` exist, carry its current config and run; those above n are removed.
  void converge(Record& r, const Service& s, int n, const std::string& image);
  std::string create_container(const Service& s, const std::string& image, const std::string& name) const;
  void start_container(const std::string& id) const;
  void wait_for_dependencies(const Record& r, const Service& s) const;
  void balance(const Service& s);
  std::vector<std::string> with_dependencies(const std::vector<std::string>& services) const;
  std::string config_hash(const Service& s, const std::string& image_id) const;

  std::filesystem::path root_;
  Project model_;
  std::ostream& progress_;
  container::Store store_;
  int stop_timeout_ = 10;
};

// The container name Compose gives: <project>-<service>-<n>, or container_name.
std::string container_name(const Project& p, const Service& s, int number);

// Follow (or print) the logs of `sources`, each line prefixed "web-1  | ",
// one thread per container. Returns when all have been read (and, with
// follow, have stopped: "web-1 exited with code 0"), or when `stop` turns true.
void print_logs(const std::filesystem::path& root, const std::vector<LogSource>& sources, bool follow,
                long tail, const std::atomic<bool>& stop, std::ostream& out);

}  // namespace mctr::compose
