#include "compose/project.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "build/builder.h"
#include "container/lifecycle.h"
#include "container/network_connect.h"
#include "container/networks.h"
#include "container/resource_flags.h"
#include "container/supervisor.h"
#include "image/store.h"
#include "linux/net/balanced.h"
#include "linux/net/nft.h"
#include "linux/proc.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/scope_guard.h"

namespace mctr::compose {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::string container_name(const Project& p, const Service& s, int number) {
  if (!s.container_name.empty()) return s.container_name;
  return p.name + "-" + s.name + "-" + std::to_string(number);
}

ComposeProject::ComposeProject(stdfs::path root, Project model, std::ostream& progress)
    : root_(std::move(root)), model_(std::move(model)), progress_(progress), store_(root_) {}

// ---- the record of who belongs to the project ---------------------------

stdfs::path ComposeProject::record_path() const { return root_ / "compose" / (model_.name + ".json"); }

// The whole of up/down/scale/run holds it: two of them on one project at once
// would each create replica 1.
static FileLock project_lock(const stdfs::path& root, const std::string& project) {
  return FileLock(root / "compose" / (project + ".lock"));
}

Record ComposeProject::load_record() const {
  Record r;
  const auto text = fs::read_file_if_exists(record_path());
  if (!text) return r;
  try {
    const json j = json::parse(*text);
    for (const auto& m : j.value("containers", json::array()))
      r.containers.push_back({m.at("id"), m.at("service"), m.at("number"), m.value("oneoff", false),
                              m.value("config_hash", "")});
    r.networks = j.value("networks", std::vector<std::string>{});
    r.volumes = j.value("volumes", std::vector<std::string>{});
  } catch (const json::exception& e) {
    throw Error(record_path().string() + ": unreadable project record: " + e.what());
  }
  // Containers removed behind our back (minictr rm) are no members any more.
  std::erase_if(r.containers,
                [this](const Member& m) { return !stdfs::exists(store_.dir(m.id) / "config.json"); });
  return r;
}

void ComposeProject::save_record(const Record& r) const {
  json containers = json::array();
  for (const auto& m : r.containers)
    containers.push_back({{"id", m.id},
                          {"service", m.service},
                          {"number", m.number},
                          {"oneoff", m.oneoff},
                          {"config_hash", m.config_hash}});
  const json j = {{"project", model_.name},
                  {"file", model_.file.string()},
                  {"containers", containers},
                  {"networks", r.networks},
                  {"volumes", r.volumes}};
  fs::mkdir_p(record_path().parent_path(), 0700);
  fs::write_file_atomic(record_path(), j.dump(2) + "\n", 0600);
}

static std::vector<Member> members_of(const Record& r, const std::string& service) {
  std::vector<Member> out;
  for (const auto& m : r.containers)
    if (m.service == service && !m.oneoff) out.push_back(m);
  std::sort(out.begin(), out.end(), [](const Member& a, const Member& b) { return a.number < b.number; });
  return out;
}

static bool is_running(const container::Store& store, const std::string& id) {
  try {
    return container::observed_state(store, id).status == container::Status::kRunning;
  } catch (const Error&) {
    return false;
  }
}

// ---- networks, volumes, images -------------------------------------------

// `services` and everything they depend on, in start order.
std::vector<std::string> ComposeProject::with_dependencies(const std::vector<std::string>& services) const {
  std::set<std::string> wanted;
  std::function<void(const std::string&)> add = [&](const std::string& name) {
    if (!wanted.insert(name).second) return;
    for (const auto& d : model_.service(name).depends_on) add(d.service);
  };
  if (services.empty()) {
    for (const auto& s : model_.services) add(s.name);
  } else {
    for (const auto& s : services) add(s);
  }
  std::vector<std::string> out;
  for (const auto& name : start_order(model_))
    if (wanted.count(name)) out.push_back(name);
  return out;
}

void ComposeProject::ensure_networks(Record& r, const std::vector<std::string>& services) {
  container::Networks networks(store_);
  std::set<std::string> keys;
  for (const auto& s : services)
    for (const auto& n : model_.service(s).networks) keys.insert(n);
  // A missing external network is refused before any network is made.
  for (const auto& key : keys) {
    const NetworkDef& n = model_.networks.at(key);
    if (n.external && !networks.find(n.name))
      throw Error("network " + n.name +
                  " declared as external, but could not be found (minictr network create " + n.name + ")");
  }
  for (const auto& key : keys) {
    const NetworkDef& n = model_.networks.at(key);
    if (n.external || networks.find(n.name)) continue;
    networks.create(n.name, n.subnet);
    if (std::find(r.networks.begin(), r.networks.end(), n.name) == r.networks.end())
      r.networks.push_back(n.name);
    save_record(r);  // the project's from now on: `down` removes it whatever fails next
    progress_ << "Network " << n.name << "  Created\n";
  }
}

void ComposeProject::ensure_volumes(Record& r, const std::vector<std::string>& services) {
  std::set<std::string> keys;
  for (const auto& s : services)
    for (const auto& v : model_.service(s).volumes)
      if (v.type == "volume") keys.insert(v.source);
  for (const auto& key : keys) {
    const VolumeDef& v = model_.volumes.at(key);
    const bool exists = stdfs::exists(store_.volumes_dir() / v.name / "_data");
    if (exists) continue;
    if (v.external)
      throw Error("external volume \"" + v.name + "\" not found (minictr volume create " + v.name + ")");
    container::parse_volume(store_, v.name + ":/x");  // makes <root>/volumes/NAME/_data, as `volume create`
    if (std::find(r.volumes.begin(), r.volumes.end(), v.name) == r.volumes.end()) r.volumes.push_back(v.name);
    progress_ << "Volume " << v.name << "  Created\n";
  }
}

// Build (build: given, with --build or no image of that name yet) or load
// (an archive path) the service's image; returns the reference to run.
std::string ComposeProject::ensure_image(const Service& s, bool force_build) {
  image::Store images(root_);
  std::string ref = s.image_for(model_.name);
  if (s.build && (force_build || !images.find(ref))) {
    progress_ << "Building " << s.name << " (" << ref << ")\n";
    build::BuildOptions b;
    b.context = s.build->context;
    b.dockerfile = s.build->dockerfile;
    b.tags = {ref};
    b.build_args = s.build->args;
    try {
      build::build_image(root_, b, progress_);
    } catch (const Error& e) {
      throw Error("service \"" + s.name + "\" failed to build: " + e.what(), e.exit_code());
    }
    return ref;
  }
  if (images.find(ref)) return ref;
  try {
    const image::Image img = images.resolve(ref);  // an archive is loaded here
    return img.repo_tags.empty() ? img.id : img.repo_tags.front();
  } catch (const Error& e) {
    throw Error(
        "service \"" + s.name + "\": " + e.what() +
            " (minictr pulls from no registry: load the image with `minictr load`, or give the service a "
            "build:)",
        e.exit_code());
  }
}

std::string ComposeProject::config_hash(const Service& s, const std::string& image_id) const {
  std::ostringstream h;
  h << std::hex << std::setw(16) << std::setfill('0')
    << std::hash<std::string>{}(service_yaml(model_, s) + image_id);
  return h.str();
}

// ---- one published port for all replicas -------------------------------------

// A mapping with one fixed host port ("8080:80"; not "80", not "8080-8081:80").
static bool fixed_host_port(const net::PortMapping& m) { return m.host_port != 0 && m.host_port_end == 0; }

// A service of several replicas publishes its fixed host ports once, spread
// over the replicas by compose (balance()), instead of each replica asking for
// the same port (which the second would be refused, as in Docker Compose).
static bool balanced(const Service& s) {
  if (s.replicas < 2) return false;
  for (const auto& spec : s.ports)
    for (const auto& m : net::parse_port_mappings(spec))
      if (fixed_host_port(m)) return true;
  return false;
}

static std::string balance_tag(const Project& p, const Service& s) {
  return "compose " + p.name + "/" + s.name;
}

// (Re)define the service's balanced port over its replicas, in the network's
// state (linux/net/balanced.h): its rule goes to the replicas attached now,
// and is rebuilt by the network itself whenever one of them attaches or
// detaches (a replica dies, or its restart policy starts it again). Called
// after anything that changes which containers are the service's replicas.
void ComposeProject::balance(const Service& s) {
  if (!balanced(s)) return;
  const auto net = container::Networks(store_).find(model_.networks.at(s.networks.front()).name);
  if (!net) return;
  net::BalancedPort b;
  b.tag = balance_tag(model_, s);
  // Every replica, running or not: the network puts those attached in the rule.
  bool any_running = false;
  for (const auto& m : members_of(load_record(), s.name)) {
    b.members.push_back(m.id);
    any_running = any_running || is_running(store_, m.id);
  }
  for (const auto& spec : s.ports)
    for (const auto& m : net::parse_port_mappings(spec))
      if (fixed_host_port(m)) b.ports.push_back(m);
  // A host program on the port would silently lose its traffic to the rule.
  net::Nft nft;
  if (any_running && net::rules_tagged(nft, net->table, b.tag).empty())
    for (const auto& m : b.ports) net::check_host_port_free(m);
  const size_t backends = net::set_balanced_port(container::Networks(store_).options_for(net->name), b);
  if (backends > 0)
    progress_ << "Service " << s.name << "  ports balanced over " << backends << " replicas\n";
}

// ---- containers -------------------------------------------------------------

// As Compose: the service's name is an alias of each of its containers on
// every network, so that network's name server answers "web" with every
// replica's address; the aliases given under one network only there.
static std::vector<std::string> aliases_on(const Service& s, const std::string& network_key) {
  std::vector<std::string> out = {s.name};
  if (auto a = s.network_aliases.find(network_key); a != s.network_aliases.end())
    out.insert(out.end(), a->second.begin(), a->second.end());
  return out;
}

// A container is created on the service's first network; the others are
// `network connect`ed before it starts (it attaches them at each start), so
// its first run already has an interface and a lease on each.
static void connect_other_networks(const container::Store& store, const Project& p, const Service& s,
                                   const std::string& id) {
  for (size_t i = 1; i < s.networks.size(); ++i)
    container::connect_network(store, p.networks.at(s.networks[i]).name, id, aliases_on(s, s.networks[i]));
}

// What `minictr run` would be given for this service.
static container::RunOptions run_options(const Project& p, const Service& s, const std::string& image,
                                         const std::string& name) {
  container::RunOptions o;
  o.image = image;
  o.name = name;
  // RunOptions has one entrypoint word: the rest of a list entrypoint goes in
  // front of the command, which gives the same argv (and, as Compose does, an
  // entrypoint drops the image's Cmd).
  if (s.entrypoint) {
    o.entrypoint = s.entrypoint->empty() ? "" : s.entrypoint->front();
    if (!s.entrypoint->empty()) o.cmd.assign(s.entrypoint->begin() + 1, s.entrypoint->end());
  }
  if (s.command) o.cmd.insert(o.cmd.end(), s.command->begin(), s.command->end());
  o.env = s.environment;
  for (const auto& f : s.env_files) o.env_files.push_back(f.string());
  o.workdir = s.working_dir;
  o.user = s.user;
  o.hostname = s.hostname;
  for (const auto& v : s.volumes)
    o.volumes.push_back((v.type == "volume" ? p.volumes.at(v.source).name : v.source) + ":" + v.target +
                        (v.read_only ? ":ro" : ""));
  for (const auto& spec : s.ports) {
    const auto mappings = net::parse_port_mappings(spec);
    const bool shared = balanced(s) && std::any_of(mappings.begin(), mappings.end(), fixed_host_port);
    if (!shared) o.ports.push_back(spec);  // a shared one is published by balance()
  }
  // The first network carries the published ports; connect_other_networks adds the rest.
  o.network = p.networks.at(s.networks.front()).name;
  o.network_aliases = aliases_on(s, s.networks.front());
  o.tty = s.tty;
  o.interactive = s.stdin_open;
  o.detach = true;
  container::ResourceFlags rf;
  rf.memory = s.memory;
  rf.cpus = s.cpus;
  o.resources = container::parse_resource_flags(rf, ::sysconf(_SC_NPROCESSORS_ONLN));
  o.restart = s.restart;
  o.init = s.init;
  if (s.healthcheck) {
    const Healthcheck& h = *s.healthcheck;
    o.health_test = h.disable ? std::vector<std::string>{"NONE"} : h.test;
    o.health_interval = h.interval;
    o.health_timeout = h.timeout;
    o.health_start_period = h.start_period;
    o.health_retries = h.retries;
  }
  return o;
}

std::string ComposeProject::create_container(const Service& s, const std::string& image,
                                             const std::string& name) const {
  image::Store images(root_);
  try {
    std::string id = container::create_container(store_, images, run_options(model_, s, image, name)).id;
    ScopeGuard undo([&] { container::remove_container(store_, id, true); });
    connect_other_networks(store_, model_, s, id);
    undo.dismiss();
    return id;
  } catch (const Error& e) {
    throw Error("service \"" + s.name + "\": " + e.what(), e.exit_code());
  }
}

void ComposeProject::start_container(const std::string& id) const {
  // What the last run left (as `minictr start` does it).
  if (!container::wait_not_running(store_, id, 10000))
    throw Error("container " + store_.config(id).name + " is still stopping");
  {
    auto lock = store_.lock(id);
    container::reclaim_leftovers(store_, id);
  }
  auto sup = container::SupervisorHandle::launch(root_, id, false);
  const container::StartResult started = sup.wait_started();
  if (!started.ok)
    throw Error("container " + store_.config(id).name + ": " + started.error, started.exit_code);
}

void ComposeProject::converge(Record& r, const Service& s, int n, const std::string& image) {
  const auto img = image::Store(root_).find(image);
  const std::string hash = config_hash(s, img ? img->id : image);
  auto drop = [&](const Member& m, const char* what) {
    const std::string name = store_.config(m.id).name;
    container::stop_container(store_, m.id, stop_timeout_);
    container::remove_container(store_, m.id, true);
    std::erase_if(r.containers, [&](const Member& x) { return x.id == m.id; });
    save_record(r);
    progress_ << "Container " << name << "  " << what << "\n";
  };
  for (const auto& m : members_of(r, s.name)) {
    if (m.number > n) {
      drop(m, "Removed");
    } else if (m.config_hash != hash) {
      drop(m, "Recreated");  // its config or image changed: made anew below
    }
  }
  const auto members = members_of(r, s.name);
  for (int number = 1; number <= n; ++number) {
    const auto it =
        std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.number == number; });
    const std::string name = container_name(model_, s, number);
    std::string id;
    if (it != members.end()) {
      id = it->id;
      if (is_running(store_, id)) {
        progress_ << "Container " << name << "  Running\n";
        continue;
      }
    } else {
      id = create_container(s, image, name);
      r.containers.push_back({id, s.name, number, false, hash});
      save_record(r);  // a member from now on, whatever the start does
      progress_ << "Container " << name << "  Created\n";
    }
    start_container(id);
    progress_ << "Container " << name << "  Started\n";
  }
}

void ComposeProject::wait_for_dependencies(const Record& r, const Service& s) const {
  using clock = std::chrono::steady_clock;
  for (const auto& d : s.depends_on) {
    if (d.condition == "service_started") continue;
    for (const auto& m : members_of(r, d.service)) {
      const std::string name = store_.config(m.id).name;
      const auto since = clock::now();
      progress_ << "Container " << name << "  Waiting\n";
      for (;; std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
        const container::State st = container::observed_state(store_, m.id);
        if (d.condition == "service_completed_successfully") {
          if (st.status != container::Status::kExited) continue;
          if (st.exit_code != 0)
            throw Error("service \"" + d.service + "\" didn't complete successfully: exit " +
                        std::to_string(st.exit_code));
          break;
        }
        using container::HealthStatus;
        const auto& health = st.health;  // the supervisor's record; none without a check
        if (health && health->status == HealthStatus::kHealthy) break;
        if (health && health->status == HealthStatus::kUnhealthy)
          throw Error("dependency failed to start: container " + name + " is unhealthy");
        if (st.status != container::Status::kRunning)
          throw Error("dependency failed to start: container " + name + " exited (" +
                      std::to_string(st.exit_code) + ")");
        // A check reports "starting" at once; none at all after a while: no check runs.
        if (!health && clock::now() - since > std::chrono::seconds(5))
          throw Error("dependency failed to start: container " + name + " reports no health status" +
                      (model_.service(d.service).healthcheck
                           ? std::string(" (is its health check run by this minictr?)")
                           : " (give service \"" + d.service + "\" a healthcheck:)"));
      }
      progress_ << "Container " << name << "  " << (d.condition == "service_healthy" ? "Healthy" : "Exited")
                << "\n";
    }
  }
}

// ---- the verbs ----------------------------------------------------------------

std::vector<LogSource> ComposeProject::up(const UpOptions& o) {
  for (const auto& [svc, n] : o.scale) {
    model_.service(svc);  // throws for an unknown one
    if (n < 0) throw Error("invalid --scale " + svc + "=" + std::to_string(n));
  }
  auto lock = project_lock(root_, model_.name);
  Record r = load_record();
  const auto services = with_dependencies(o.services);
  ensure_networks(r, services);
  ensure_volumes(r, services);
  save_record(r);
  std::map<std::string, std::string> images;
  for (const auto& name : services) images[name] = ensure_image(model_.service(name), o.build);
  for (const auto& name : services) {
    const Service& s = model_.service(name);
    wait_for_dependencies(r, s);
    const auto scaled = o.scale.find(name);
    converge(r, s, scaled != o.scale.end() ? scaled->second : s.replicas, images[name]);
    balance(s);
  }
  std::vector<LogSource> out;
  for (const auto& src : log_sources())
    if (std::find(services.begin(), services.end(), src.service) != services.end()) out.push_back(src);
  return out;
}

void ComposeProject::scale(const std::string& service, int n) {
  UpOptions o;
  o.services = {service};
  o.scale[service] = n;
  // Dependencies keep the replicas they run with (or their deploy.replicas).
  const Record r = [&] {
    auto lock = project_lock(root_, model_.name);
    return load_record();
  }();
  for (const auto& name : with_dependencies({service})) {
    const auto running = members_of(r, name);
    if (name != service && !running.empty()) o.scale[name] = static_cast<int>(running.size());
  }
  up(o);
}

std::vector<LogSource> ComposeProject::log_sources() const {
  const Record r = load_record();
  std::vector<LogSource> out;
  for (const auto& s : model_.services)
    for (const auto& m : members_of(r, s.name))
      out.push_back({m.id,
                     s.container_name.empty() ? s.name + "-" + std::to_string(m.number) : s.container_name,
                     s.name});
  // Members whose service has left the file (orphans) still belong to the project.
  for (const auto& m : r.containers) {
    const bool known = std::any_of(model_.services.begin(), model_.services.end(),
                                   [&](const Service& s) { return s.name == m.service; });
    if (!known && !m.oneoff) out.push_back({m.id, m.service + "-" + std::to_string(m.number), m.service});
  }
  return out;
}

void ComposeProject::stop_sources(const std::vector<LogSource>& sources, int timeout_s) {
  // Dependents first: the reverse start order, each service's replicas at once.
  auto order = start_order(model_);
  std::reverse(order.begin(), order.end());
  std::vector<std::vector<std::string>> waves(order.size() + 1);
  for (const auto& src : sources) {
    const auto at = std::find(order.begin(), order.end(), src.service);
    waves[at == order.end() ? 0 : static_cast<size_t>(at - order.begin()) + 1].push_back(src.id);
  }
  for (const auto& wave : waves) {
    std::vector<std::thread> threads;
    std::vector<std::string> stopped(wave.size());
    for (size_t i = 0; i < wave.size(); ++i)
      threads.emplace_back([&, i] {
        try {
          if (container::stop_container(store_, wave[i], timeout_s).was_running) stopped[i] = wave[i];
        } catch (const std::exception&) {
          // gone meanwhile: nothing to stop
        }
      });
    for (auto& t : threads) t.join();
    for (const auto& id : stopped)
      if (!id.empty()) progress_ << "Container " << store_.config(id).name << "  Stopped\n";
  }
}

void ComposeProject::down(bool volumes, int timeout_s) {
  auto lock = project_lock(root_, model_.name);
  Record r = load_record();
  std::vector<LogSource> all;
  for (const auto& m : r.containers) all.push_back({m.id, m.service, m.service});
  stop_sources(all, timeout_s);
  for (const auto& m : r.containers) {
    const std::string name = store_.config(m.id).name;
    container::remove_container(store_, m.id, true);
    progress_ << "Container " << name << "  Removed\n";
  }
  r.containers.clear();
  for (const auto& s : model_.services) balance(s);  // no replica runs: the rules go
  container::Networks networks(store_);
  for (const auto& n : r.networks) {
    try {
      if (networks.find(n)) networks.remove(n);
      progress_ << "Network " << n << "  Removed\n";
    } catch (const Error& e) {
      progress_ << "Network " << n << "  not removed: " << e.what() << "\n";
    }
  }
  if (volumes) {
    std::set<std::string> names(r.volumes.begin(), r.volumes.end());
    for (const auto& [key, v] : model_.volumes)
      if (!v.external) names.insert(v.name);
    for (const auto& n : names) {
      const stdfs::path dir = store_.volumes_dir() / n;
      if (!stdfs::exists(dir)) continue;
      fs::remove_tree(dir);
      progress_ << "Volume " << n << "  Removed\n";
    }
  }
  std::error_code ec;
  stdfs::remove(record_path(), ec);
}

void ComposeProject::start() {
  auto lock = project_lock(root_, model_.name);
  const Record r = load_record();
  for (const auto& name : start_order(model_)) {
    wait_for_dependencies(r, model_.service(name));
    for (const auto& m : members_of(r, name)) {
      if (is_running(store_, m.id)) continue;
      start_container(m.id);
      progress_ << "Container " << store_.config(m.id).name << "  Started\n";
    }
    balance(model_.service(name));  // new addresses
  }
}

void ComposeProject::stop(int timeout_s) {
  stop_sources(log_sources(), timeout_s);
  for (const auto& s : model_.services) balance(s);
}

void ComposeProject::restart(int timeout_s) {
  stop(timeout_s);
  start();
}

std::vector<PsRow> ComposeProject::ps(bool all) const {
  std::vector<PsRow> rows;
  const Record r = load_record();
  for (const auto& src : log_sources()) {
    const container::Config cfg = store_.config(src.id);
    const container::State st = container::observed_state(store_, src.id);
    if (!all && st.status != container::Status::kRunning) continue;
    PsRow row;
    row.id = src.id;
    row.name = cfg.name;
    row.image = cfg.image;
    row.command = cfg.args;
    for (const auto& m : r.containers)
      if (m.id == src.id) {
        row.service = m.service;
        row.number = m.number;
      }
    if (st.status == container::Status::kRunning) {
      row.status = st.paused ? "paused" : "running";
      if (st.health) row.status += " (" + std::string(to_string(st.health->status)) + ")";
    } else {
      row.status = st.status == container::Status::kExited ? "exited (" + std::to_string(st.exit_code) + ")"
                                                           : std::string(to_string(st.status));
    }
    if (st.status == container::Status::kRunning && st.network) {
      for (const auto& p : st.network->ports) {
        if (!row.ports.empty()) row.ports += ", ";
        row.ports += (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) + "->" +
                     std::to_string(p.container_port) + "/" + p.proto;
      }
    }
    const auto svc = std::find_if(model_.services.begin(), model_.services.end(),
                                  [&](const Service& s) { return s.name == row.service; });
    if (st.status == container::Status::kRunning && svc != model_.services.end() && balanced(*svc)) {
      for (const auto& spec : svc->ports)
        for (const auto& p : net::parse_port_mappings(spec))
          if (fixed_host_port(p))
            row.ports += std::string(row.ports.empty() ? "" : ", ") +
                         (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) +
                         "->" + std::to_string(p.container_port) + "/" + p.proto + " (balanced)";
    }
    rows.push_back(row);
  }
  return rows;
}

std::string ComposeProject::container_of(const std::string& service, int index) const {
  model_.service(service);
  for (const auto& m : members_of(load_record(), service))
    if (m.number == index && is_running(store_, m.id)) return m.id;
  throw Error("service \"" + service + "\" is not running container #" + std::to_string(index), 1);
}

std::string ComposeProject::create_oneoff(const std::string& service, const std::vector<std::string>& cmd,
                                          bool remove, bool tty, bool interactive) {
  const Service& s = model_.service(service);
  // Dependencies as `up` would start them; the service itself is not.
  std::vector<std::string> deps;
  for (const auto& d : s.depends_on) deps.push_back(d.service);
  if (!deps.empty()) {
    UpOptions o;
    o.services = deps;
    up(o);
  }
  auto lock = project_lock(root_, model_.name);
  Record r = load_record();
  ensure_networks(r, {service});
  ensure_volumes(r, {service});
  const std::string image = ensure_image(s, false);
  Service oneoff = s;
  if (!cmd.empty()) oneoff.command = cmd;
  oneoff.ports.clear();  // as Compose: `run` publishes no ports (they would clash with the service's)
  oneoff.container_name.clear();
  container::RunOptions o =
      run_options(model_, oneoff, image, model_.name + "-" + service + "-run-" + container::random_hex(6));
  o.auto_remove = remove;
  o.tty = tty;
  o.interactive = interactive;
  o.detach = false;
  image::Store images(root_);
  const container::Config cfg = container::create_container(store_, images, o);
  ScopeGuard undo([&] { container::remove_container(store_, cfg.id, true); });
  connect_other_networks(store_, model_, s, cfg.id);
  undo.dismiss();
  r.containers.push_back({cfg.id, service, 0, true, ""});
  save_record(r);
  return cfg.id;
}

}  // namespace mctr::compose
