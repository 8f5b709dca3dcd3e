#include "runc/state_store.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "linux/cgroup/manager.h"
#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

const char* status_name(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kPaused:
      return "paused";
    case Status::kStopped:
      return "stopped";
  }
  return "stopped";
}

void check_id(const std::string& id) {
  bool ok = !id.empty() && id != "." && id != ".." && id.size() <= 1024;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.'))
      ok = false;
  if (!ok) throw Error("invalid id format: " + id);
}

void Store::make_dir(const std::string& id) const {
  check_id(id);
  fs::mkdir_p(root_, 0711);
  if (::mkdir(dir(id).c_str(), 0711) < 0) {
    if (errno == EEXIST) throw Error("container with id exists: " + id);
    throw_sys("mkdir", dir(id));
  }
}

bool Store::exists(const std::string& id) const { return std::filesystem::exists(dir(id) / "state.json"); }

void Store::save(const ContainerState& s) const {
  nlohmann::json j = {
      {"id", s.id},         {"init_pid", s.init_pid},       {"init_start_time", s.init_start_time},
      {"bundle", s.bundle}, {"rootfs", s.rootfs},           {"created", s.created},
      {"owner", s.owner},   {"cgroup_path", s.cgroup_path}, {"config", oci::to_json(s.spec)}};
  fs::write_file_atomic(dir(s.id) / "state.json", j.dump(), 0600, false);
}

ContainerState Store::load(const std::string& id) const {
  check_id(id);
  auto text = fs::read_file_if_exists(dir(id) / "state.json");
  if (!text) throw Error("container does not exist");
  try {
    auto j = nlohmann::json::parse(*text);
    ContainerState s;
    s.id = j.at("id").get<std::string>();
    s.init_pid = j.at("init_pid").get<pid_t>();
    s.init_start_time = j.at("init_start_time").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = j.at("owner").get<uid_t>();
    s.cgroup_path = j.at("cgroup_path").get<std::string>();
    s.spec = oci::parse_spec(j.at("config"), (dir(id) / "state.json").string() + ": config");
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error((dir(id) / "state.json").string() + ": " + e.what());
  }
}

void Store::remove(const std::string& id) const { fs::remove_tree(dir(id)); }

std::vector<std::string> Store::ids() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root_, ec))
    if (e.is_directory() && std::filesystem::exists(e.path() / "state.json"))
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  auto stat = fs::read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  // "PID (comm) S ..." — comm may hold spaces and ')': fields count from the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat->substr(close + 2));
  std::string field;
  uint64_t start = 0;
  for (int i = 3; i <= 22 && in >> field; ++i)
    if (i == 22) start = std::stoull(field);
  // A zombie still has its stat: it has stopped all the same.
  if (stat->compare(close + 2, 1, "Z") == 0) return 0;
  return start;
}

Status current_status(const Store& store, const ContainerState& s) {
  if (s.init_pid <= 0 || process_start_time(s.init_pid) != s.init_start_time) return Status::kStopped;
  if (std::filesystem::exists(store.fifo(s.id))) return Status::kCreated;
  if (!s.cgroup_path.empty()) {
    try {
      if (cgroup::make_manager_at({s.cgroup_path})->is_frozen()) return Status::kPaused;
    } catch (const Error&) {
      // No freezer here: never paused.
    }
  }
  return Status::kRunning;
}

nlohmann::json state_json(const ContainerState& s, Status status) {
  nlohmann::json j = {{"ociVersion", s.spec.oci_version},
                      {"id", s.id},
                      {"pid", status == Status::kStopped ? 0 : s.init_pid},
                      {"status", status_name(status)},
                      {"bundle", s.bundle},
                      {"rootfs", s.rootfs},
                      {"created", s.created},
                      {"owner", ""}};
  if (passwd* pw = ::getpwuid(s.owner)) j["owner"] = pw->pw_name;
  j["annotations"] =
      s.spec.annotations.empty() ? nlohmann::json::object() : nlohmann::json(s.spec.annotations);
  return j;
}

}  // namespace mctr::runc
