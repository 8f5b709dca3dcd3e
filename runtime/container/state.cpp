#include "container/state.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>

#include "container/events.h"
#include "container/exit_record.h"
#include "linux/proc.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/paths.h"

namespace mctr::container {

using nlohmann::json;

std::string_view to_string(Status s) {
  switch (s) {
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kExited:
      return "exited";
  }
  return "?";
}

Status status_from_string(std::string_view s) {
  for (Status v : {Status::kCreated, Status::kRunning, Status::kExited})
    if (to_string(v) == s) return v;
  throw Error("state.json: unknown container status '" + std::string(s) + "'");
}

std::string_view to_string(HealthStatus h) {
  switch (h) {
    case HealthStatus::kStarting:
      return "starting";
    case HealthStatus::kHealthy:
      return "healthy";
    case HealthStatus::kUnhealthy:
      return "unhealthy";
  }
  return "?";
}

HealthStatus health_status_from_string(std::string_view s) {
  for (HealthStatus v : {HealthStatus::kStarting, HealthStatus::kHealthy, HealthStatus::kUnhealthy})
    if (to_string(v) == s) return v;
  throw Error("state.json: unknown health status '" + std::string(s) + "'");
}

static json attachment_json(const net::Attachment& a) {
  json ports = json::array();
  for (const auto& p : a.ports)
    ports.push_back({{"HostIp", p.host_ip},
                     {"HostPort", p.host_port},
                     {"ContainerPort", p.container_port},
                     {"Proto", p.proto}});
  return {{"IPAddress", a.ip},          {"IPPrefixLen", a.prefix_len},
          {"Gateway", a.gateway},       {"MacAddress", a.mac},
          {"HostVeth", a.host_veth},    {"Ports", ports},
          {"GlobalIPv6Address", a.ip6}, {"GlobalIPv6PrefixLen", a.prefix_len6},
          {"IPv6Gateway", a.gateway6}};
}

static net::Attachment attachment_from(const json& j) {
  net::Attachment a;
  a.ip = j.value("IPAddress", "");
  a.prefix_len = j.value("IPPrefixLen", 16);
  a.gateway = j.value("Gateway", "");
  a.mac = j.value("MacAddress", "");
  a.host_veth = j.value("HostVeth", "");
  a.ip6 = j.value("GlobalIPv6Address", "");
  a.prefix_len6 = j.value("GlobalIPv6PrefixLen", 0);
  a.gateway6 = j.value("IPv6Gateway", "");
  for (const auto& p : j.value("Ports", json::array())) {
    net::PortMapping m;
    m.host_ip = p.value("HostIp", "");
    m.host_port = p.value("HostPort", 0);
    m.container_port = p.value("ContainerPort", 0);
    m.proto = p.value("Proto", "tcp");
    a.ports.push_back(m);
  }
  return a;
}

static json health_json(const Health& h) {
  json log = json::array();
  for (const auto& e : h.log)
    log.push_back({{"Start", e.start}, {"End", e.end}, {"ExitCode", e.exit_code}, {"Output", e.output}});
  return {{"Status", to_string(h.status)}, {"FailingStreak", h.failing_streak}, {"Log", log}};
}

static Health health_from(const json& j) {
  Health h;
  h.status = health_status_from_string(j.value("Status", "starting"));
  h.failing_streak = j.value("FailingStreak", 0);
  for (const auto& e : j.value("Log", json::array()))
    h.log.push_back(
        {e.value("Start", ""), e.value("End", ""), e.value("ExitCode", 0), e.value("Output", "")});
  return h;
}

json state_to_json(const State& s) {
  json j = {{"Status", to_string(s.status)},
            {"Pid", s.pid},
            {"PidStart", s.pid_start},
            {"SupervisorPid", s.supervisor_pid},
            {"SupervisorStart", s.supervisor_start},
            {"ExitCode", s.exit_code},
            {"OOMKilled", s.oom_killed},
            {"Paused", s.paused},
            {"Error", s.error},
            {"StartedAt", s.started_at},
            {"FinishedAt", s.finished_at},
            {"CgroupPath", s.cgroup_path},
            {"RestartCount", s.restart_count},
            {"Restarting", s.restarting},
            {"StopRequested", s.stop_requested}};
  if (s.network) j["Network"] = attachment_json(*s.network);
  if (s.health) j["Health"] = health_json(*s.health);
  return j;
}

State state_from_json(const json& j) {
  State s;
  s.status = status_from_string(j.value("Status", "created"));
  s.pid = j.value("Pid", 0);
  s.pid_start = j.value("PidStart", uint64_t{0});
  s.supervisor_pid = j.value("SupervisorPid", 0);
  s.supervisor_start = j.value("SupervisorStart", uint64_t{0});
  s.exit_code = j.value("ExitCode", 0);
  s.oom_killed = j.value("OOMKilled", false);
  s.paused = s.status == Status::kRunning && j.value("Paused", false);  // an exit ends a pause
  s.error = j.value("Error", "");
  s.started_at = j.value("StartedAt", "");
  s.finished_at = j.value("FinishedAt", "");
  s.cgroup_path = j.value("CgroupPath", "");
  s.restart_count = j.value("RestartCount", 0);
  s.restarting = s.status == Status::kRunning && j.value("Restarting", false);
  s.stop_requested = j.value("StopRequested", false);
  if (j.contains("Network")) s.network = attachment_from(j["Network"]);
  if (j.contains("Health")) s.health = health_from(j["Health"]);
  return s;
}

std::string now_rfc3339() {
  using namespace std::chrono;
  return rfc3339(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

std::string rfc3339(int64_t unix_nanos) {
  // Calendar arithmetic from <chrono>, not gmtime_r + strftime: glibc's first
  // gmtime_r and every strftime read /etc/localtime (tzset) for a UTC time.
  using namespace std::chrono;
  const sys_time<nanoseconds> t{nanoseconds{unix_nanos}};
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%09ldZ", static_cast<int>(date.year()),
           static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
           static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()),
           static_cast<long>(time.seconds().count()), static_cast<long>(time.subseconds().count()));
  return buf;
}

// Random bytes from the kernel in one getrandom(2) call (std::random_device
// asks the CPU (RDRAND) per number, and each is a VM exit on some hosts).
static std::vector<unsigned char> random_bytes(size_t n) {
  std::vector<unsigned char> buf(n);
  for (size_t got = 0; got < n;) {
    ssize_t r = ::getrandom(buf.data() + got, n - got, 0);
    if (r < 0 && errno != EINTR) throw_sys("getrandom");
    if (r > 0) got += static_cast<size_t>(r);
  }
  return buf;
}

std::string random_hex(size_t bytes) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned v : random_bytes(bytes)) {
    s += hex[v >> 4];
    s += hex[v & 15];
  }
  return s;
}

// Docker-style names: adjective_scientist.
// Docker's kind of name, "adjective_scientist". There are only 192 of
// them: after a collision a number is appended, as Docker does, with one
// more digit every 8 tries, so a root with every base name taken still
// gets a free name instead of trying forever.
static std::string random_name(int retry) {
  static const char* adj[] = {"brave", "calm",  "eager", "fond",   "gentle", "happy",  "keen",  "lucid",
                              "merry", "nifty", "proud", "quirky", "sharp",  "tender", "vivid", "witty"};
  static const char* who[] = {"curie",   "dijkstra", "hopper",   "knuth",    "lovelace", "noether",
                              "ritchie", "shannon",  "thompson", "torvalds", "turing",   "wozniak"};
  auto r = random_bytes(6);
  std::string name = std::string(adj[r[0] % std::size(adj)]) + "_" + who[r[1] % std::size(who)];
  if (retry == 0) return name;
  uint32_t n = 0;
  for (int i = 2; i < 6; ++i) n = (n << 8) | r[i];
  uint32_t modulus = 10;
  for (int digits = 1; digits < 1 + retry / 8 && modulus < 1000000000; ++digits) modulus *= 10;
  return name + std::to_string(n % modulus);
}

Store::Store(std::filesystem::path root) : root_(std::move(root)), containers_(root_ / "containers") {
  make_private_dir(root_);  // and an older minictr's 0711 root is closed here
}

void check_container_name(const std::string& n) {
  constexpr size_t kMaxName = 128;
  if (n.size() > kMaxName)
    throw Error("invalid container name \"" + n.substr(0, 32) + "...\": " + std::to_string(n.size()) +
                " characters, at most " + std::to_string(kMaxName) + " are allowed");
  bool ok = !n.empty() && std::isalnum(static_cast<unsigned char>(n[0])) &&
            std::all_of(n.begin(), n.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
            });
  if (!ok) throw Error("invalid container name \"" + n + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
}

// Each container makes and deletes ~15 inodes (its dir, upper/ and work/, the
// /etc files, the state, overlayfs's own checks in work/), and ext4 puts them
// in the block group of the container's directory, which is that of its
// parent. But ext4 without a journal will not reuse an inode freed less than
// 60 s ago (5 min while its inode table block is dirty), and searches each new
// inode from the start of the group: with every container dir made in
// containers/, a busy host ends up scanning thousands of recently freed
// inodes for each new one (3-5 ms per run here after a few minutes of
// start/stop). So the dir is made in one of kNurseries directories (each in a
// block group of its own: their parent is an ext4 "top" directory, whose
// subdirectories go to the least used groups) and renamed into containers/;
// a rename does not move the inode. The churn spreads over 512 groups whose
// bitmaps stay cached (~4 MB; a new group for every container, chattr +T on
// containers/, costs two bitmap reads from disk per run instead). With 64, a
// few minutes of back-to-back runs still left each group hundreds of freed
// inodes to skip for every new one (docs/performance.md).
static constexpr unsigned kNurseries = 512;

static unsigned nursery_number(const std::string& id) {
  return static_cast<unsigned>(std::stoul(id.substr(0, 4), nullptr, 16) % kNurseries);
}

static std::filesystem::path nursery_of(const std::filesystem::path& root, const std::string& id) {
  return StorePaths{root}.container_nurseries() / std::to_string(nursery_number(id));
}

// The nursery a new container is born in: its own once made, until then the
// next made one by number. Making one is not for a start to wait on: the
// kernel puts a top directory's child in a block group nobody used lately,
// and reads that group's bitmaps from the disk (0.3-2 ms here), so the
// supervisor makes its container's nursery once the container has exited
// (Store::make_nursery). None made yet (a new root): nullopt, born in place.
static std::optional<std::filesystem::path> nursery_for(const std::filesystem::path& root,
                                                        const std::string& id) {
  auto own = nursery_of(root, id);
  struct stat st;
  if (::stat(own.c_str(), &st) == 0) return own;
  const unsigned want = nursery_number(id);
  std::optional<std::filesystem::path> next;
  unsigned nearest = kNurseries;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(StorePaths{root}.container_nurseries(), ec)) {
    const std::string n = e.path().filename().string();
    if (n.empty() || n.size() > 3 ||
        !std::all_of(n.begin(), n.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      continue;
    const unsigned ahead = (static_cast<unsigned>(std::stoul(n)) + kNurseries - want) % kNurseries;
    if (ahead < nearest) {
      nearest = ahead;
      next = e.path();
    }
  }
  return next;
}

void Store::make_nursery(const std::string& id) const {
  const auto nursery = nursery_of(root_, id);
  if (::mkdir(nursery.c_str(), 0700) == 0 || errno == EEXIST) return;
  const auto nurseries = StorePaths{root_}.container_nurseries();
  if (!std::filesystem::exists(nurseries)) {
    fs::mkdir_p(nurseries, 0700);
    fs::mark_top_directory(nurseries);
  }
  fs::mkdir_p(nursery, 0700);
}

// The container's dir, born in `nursery` (none: in place) and renamed into containers/.
static void make_container_dir(const std::optional<std::filesystem::path>& nursery,
                               const std::filesystem::path& dir, const std::string& id) {
  if (nursery) {
    const auto born = *nursery / id;
    check_sys(::mkdir(born.c_str(), 0700), "mkdir", born);
    if (::rename(born.c_str(), dir.c_str()) == 0) return;
    if (errno != EXDEV) throw_sys("rename", born);
    ::rmdir(born.c_str());  // cache/ is on another filesystem: make it in place
  }
  fs::mkdir_p(dir, 0700);
}

// The name index: <root>/names/<name>, a symlink to the id of the container
// that has the name, so that create and rename check a name with one
// readlink and one config read instead of parsing every container's config
// (which made each start O(N): docs/performance.md, Density). A link counts
// only while that container's config still gives it this name: a crash
// between writing the link and the config, or between a rename's new link
// and the removal of its old one, leaves a link that counts as free.
static std::filesystem::path names_dir(const std::filesystem::path& root) { return root / "names"; }

static bool is_container_id(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

static std::optional<std::string> linked_id(const std::filesystem::path& link) {
  char buf[80];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
  std::string id(buf, static_cast<size_t>(n));
  if (!is_container_id(id)) return std::nullopt;  // not ours: never a path to follow
  return id;
}

// The id of the container that has `name`, if any.
static std::optional<std::string> name_owner(const Store& store, const std::string& name) {
  auto id = linked_id(names_dir(store.root()) / name);
  if (!id) return std::nullopt;
  try {
    if (store.config(*id).name == name) return id;
  } catch (const Error&) {
    // removed, or being removed right now
  }
  return std::nullopt;
}

// names/<name> -> id, replacing a stale link (by rename: never missing).
// The link is made in the container's nursery and renamed into names/: its
// inode stays in the nursery's block group, as the container's own do (see
// kNurseries). Made in names/, every container's link came from one group,
// and on a journal-less ext4 each new one searched past all those freed in
// the last minutes (~0.25 ms per `run` after a few hundred).
static void index_name(const std::optional<std::filesystem::path>& nursery, const std::filesystem::path& root,
                       const std::string& name, const std::string& id) {
  const auto link = names_dir(root) / name;
  if (nursery) {
    const auto tmp = *nursery / (id + ".name");
    ::unlink(tmp.c_str());
    check_sys(::symlink(id.c_str(), tmp.c_str()), "symlink", tmp);
    if (::rename(tmp.c_str(), link.c_str()) == 0) return;
    ::unlink(tmp.c_str());
    if (errno != EXDEV) throw_sys("rename", link);
  }
  // No nursery yet, or cache/ is on another filesystem; names start with [a-zA-Z0-9].
  const auto tmp = names_dir(root) / (".new-" + name);
  ::unlink(tmp.c_str());
  check_sys(::symlink(id.c_str(), tmp.c_str()), "symlink", tmp);
  check_sys(::rename(tmp.c_str(), link.c_str()), "rename", link);
}

// Drop names/<name> if it still names `id` (not if the name went to another
// container meanwhile). Called while `id`'s config still has the name, so no
// create can take the name between the readlink and the unlink.
static void unindex_name(const std::filesystem::path& root, const std::string& name, const std::string& id) {
  const auto link = names_dir(root) / name;
  if (linked_id(link) != id) return;
  fs::keep_open_until_released(link);  // the link's block is freed after the answer (see fs.h)
  ::unlink(link.c_str());
}

// A root made by a minictr without the index gets one, from every config,
// under the store lock (made aside and renamed into place whole).
static void ensure_name_index(const Store& store) {
  const auto dir = names_dir(store.root());
  if (std::filesystem::exists(dir)) return;
  const auto tmp = store.root() / "names.new";
  fs::remove_tree(tmp);
  fs::mkdir_p(tmp, 0700);
  for (const auto& id : store.ids()) {
    try {
      const std::string name = store.config(id).name;
      if (!name.empty()) check_sys(::symlink(id.c_str(), (tmp / name).c_str()), "symlink", tmp / name);
    } catch (const Error&) {
      // a container being removed right now
    }
  }
  check_sys(::rename(tmp.c_str(), dir.c_str()), "rename", dir);
}

// Before the config goes: see unindex_name.
static void unindex_container(const Store& store, const std::string& id) {
  std::optional<std::string> name;
  try {
    name = store.config(id).name;
  } catch (const Error&) {
    return;  // no config (unlisted already): its link, if any, counts as free
  }
  if (!name->empty()) unindex_name(store.root(), *name, id);
}

void Store::remove_nursery_leftovers() const {
  FileLock store_lock(root_ / "locks" / "containers.lock");
  std::error_code ec;
  for (const auto& nursery : std::filesystem::directory_iterator(StorePaths{root_}.container_nurseries(), ec))
    for (const auto& born : std::filesystem::directory_iterator(nursery.path(), ec))
      fs::remove_tree(born.path());
}

void Store::create(Config& cfg) {
  fs::mkdir_p(containers_, 0700);
  FileLock store_lock(root_ / "locks" / "containers.lock");
  ensure_name_index(*this);
  if (cfg.name.empty()) {
    for (int retry = 0;; ++retry) {
      cfg.name = random_name(retry);
      if (!name_owner(*this, cfg.name)) break;
    }
  } else {
    check_container_name(cfg.name);
    if (name_owner(*this, cfg.name)) throw Error("the container name \"" + cfg.name + "\" is already in use");
  }
  cfg.id = random_hex(32);
  cfg.created = now_rfc3339();
  if (cfg.hostname.empty()) cfg.hostname = cfg.id.substr(0, 12);
  // The link first: a crash before the config exists leaves a link that counts as free.
  const auto nursery = nursery_for(root_, cfg.id);
  index_name(nursery, root_, cfg.name, cfg.id);
  make_container_dir(nursery, dir(cfg.id), cfg.id);
  // fsync (~5 ms on ext4) only for a container meant to outlive this run:
  // a --rm container's config is of no use after a power cut.
  fs::write_file_atomic(dir(cfg.id) / "config.json", json(cfg).dump(2) + "\n", 0600, !cfg.auto_remove);
  // No state.json yet: a container without one is "created" (see state()).
}

Config Store::config(const std::string& id) const {
  try {
    return json::parse(fs::read_file(dir(id) / "config.json")).get<Config>();
  } catch (const json::exception& e) {
    throw Error("container " + id + ": bad config.json: " + e.what());
  }
}

void Store::save_config(const Config& c) const {
  fs::write_file_atomic(dir(c.id) / "config.json", json(c).dump(2) + "\n", 0600);
}

State Store::state(const std::string& id) const {
  // Written at the first start; until then the container is just created.
  auto text = fs::read_file_if_exists(dir(id) / "state.json");
  if (!text) return State{};
  try {
    return state_from_json(json::parse(*text));
  } catch (const json::exception& e) {
    throw Error("container " + id + ": bad state.json: " + e.what());
  }
}

void Store::rename(const std::string& id, const std::string& new_name) const {
  check_container_name(new_name);
  FileLock store_lock(root_ / "locks" / "containers.lock");  // see create()
  ensure_name_index(*this);
  if (auto other = name_owner(*this, new_name)) {
    if (*other == id) throw Error("renaming a container with the same name as its current name");
    throw Error("the container name \"" + new_name + "\" is already in use by container \"" + *other + "\"");
  }
  auto lock = this->lock(id);
  Config c = config(id);
  // ps lists containers by config.json's mtime (their creation): keep it.
  const auto file = dir(id) / "config.json";
  struct stat st;
  check_sys(::stat(file.c_str(), &st), "stat", file);
  const std::string old_name = c.name;
  c.name = new_name;
  // A crash before the config is saved: the new link counts as free.
  index_name(nursery_for(root_, id), root_, new_name, id);
  save_config(c);
  unindex_name(root_, old_name, id);  // the config no longer has it: a stale link would count as free anyway
  const timespec times[2] = {st.st_atim, st.st_mtim};
  check_sys(::utimensat(AT_FDCWD, file.c_str(), times, 0), "utimensat", file);
  emit_event(root_, "rename", c, {{"oldName", "/" + old_name}});
}

void Store::save_state(const std::string& id, const State& s) const {
  // No fsync: after a crash the processes are gone anyway, and observed_state()
  // corrects a stale "running" (runc does not fsync its state.json either).
  fs::write_file_atomic(dir(id) / "state.json", state_to_json(s).dump(2) + "\n", 0600, false);
}

FileLock Store::lock(const std::string& id) const { return FileLock::directory(dir(id)); }

std::vector<std::string> Store::ids() const {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(containers_, ec)) {
    struct stat st;
    if (::stat((e.path() / "config.json").c_str(), &st) < 0) continue;  // being made or removed
    found.emplace_back(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, e.path().filename());
  }
  std::sort(found.begin(), found.end(), std::greater<>());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::vector<std::string> Store::unlisted_ids() const {
  std::vector<std::string> out;
  if (!std::filesystem::is_directory(containers_)) return out;
  FileLock store_lock(root_ / "locks" / "containers.lock");  // see create()
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(containers_, ec))
    if (e.is_directory() && !std::filesystem::exists(e.path() / "config.json"))
      out.push_back(e.path().filename());
  return out;
}

// 64 lowercase hex digits: an id, which names its directory.
static bool is_full_id(const std::string& ref) {
  return ref.size() == 64 && std::all_of(ref.begin(), ref.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// As Docker: a full id, then a name, then a unique id prefix. The first two
// look at one path each, so a verb on one of many containers does not list
// (and stat) them all.
std::string Store::resolve(const std::string& ref) const {
  if (ref.empty()) throw Error("No such container: (empty)", 1);
  if (is_full_id(ref) && std::filesystem::exists(dir(ref) / "config.json")) return ref;
  if (std::filesystem::exists(names_dir(root_))) {
    if (auto id = name_owner(*this, ref)) return *id;
  } else {  // a root without the name index yet (see ensure_name_index)
    for (const auto& id : ids()) {
      try {
        if (config(id).name == ref) return id;
      } catch (const Error&) {
      }
    }
  }
  std::vector<std::string> prefixed;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(containers_, ec)) {
    const std::string id = e.path().filename();
    if (id.rfind(ref, 0) == 0 && std::filesystem::exists(e.path() / "config.json")) prefixed.push_back(id);
  }
  if (prefixed.size() == 1) return prefixed[0];
  if (prefixed.size() > 1) throw Error("multiple containers match \"" + ref + "\"", 1);
  throw Error("No such container: " + ref, 1);
}

// Out of containers/ in one rename, then deleted: nobody (an `rm` that waits
// for a --rm container's supervisor, `ps`) sees a half-deleted directory, whose
// state.json may already be gone while its upper dir is not.
void Store::remove(const std::string& id) const {
  unindex_container(*this, id);
  const auto leaving = nursery_of(root_, id) / (id + ".removed");
  auto move_out = [&] { return ::rename(dir(id).c_str(), leaving.c_str()) == 0; };
  bool moved = move_out();
  if (!moved && errno == ENOENT && std::filesystem::exists(dir(id))) {
    // Its nursery is not made yet (it was born in another one, or in place
    // in a new root): make it now rather than delete in place.
    try {
      make_nursery(id);
      moved = move_out();
    } catch (const std::exception&) {
    }
  }
  fs::remove_tree(moved ? leaving : dir(id));  // not moved: no nursery on this filesystem (EXDEV)
}

void Store::unlist(const std::string& id) const {
  unindex_container(*this, id);
  fs::unlink_deferred(dir(id) / "config.json");
}

State observed_state(const Store& store, const std::string& id) {
  State s = store.state(id);
  if (s.status != Status::kRunning) return s;
  if (linux_proc::alive(s.pid, s.pid_start)) return s;
  if (linux_proc::alive(s.supervisor_pid, s.supervisor_start)) return s;  // it will record the exit
  s.status = Status::kExited;
  s.pid = 0;
  s.paused = false;
  s.restarting = false;
  // The supervisor wrote the exit into its reserved record but could not
  // update state.json (a full filesystem), or died right after.
  if (auto e = ExitRecord::read(store.dir(id))) {
    s.exit_code = e->exit_code;
    s.oom_killed = e->oom_killed;
    s.finished_at = e->finished_at;
    return s;
  }
  // The supervisor died first. The container's init has the parent-death
  // signal SIGKILL (init.cpp), so the kernel killed it with its supervisor
  // (if nothing else had): 128 + SIGKILL, as a `kill -9` of it would give.
  s.exit_code = 128 + SIGKILL;
  s.error = "supervisor died; the container was killed with it (SIGKILL)";
  return s;
}

}  // namespace mctr::container
