#include "linux/user.h"

#include <grp.h>
#include <unistd.h>

#include <sstream>

#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"

namespace mctr::user {

static std::vector<std::vector<std::string>> read_colon_file(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  auto content = fs::read_file_if_exists(path);
  if (!content) return rows;
  std::istringstream in(*content);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::string field;
    std::istringstream ls(line);
    while (std::getline(ls, field, ':')) f.push_back(field);
    if (line.back() == ':') f.push_back("");
    rows.push_back(f);
  }
  return rows;
}

static bool is_number(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

Identity resolve(const std::string& spec, const std::string& passwd_path, const std::string& group_path) {
  Identity id;
  if (spec.empty()) {
    id.home = "/root";
    return id;
  }
  std::string user = spec, group;
  if (auto c = spec.find(':'); c != std::string::npos) {
    user = spec.substr(0, c);
    group = spec.substr(c + 1);
  }
  auto passwd = read_colon_file(passwd_path);
  bool found = false;
  for (const auto& f : passwd) {
    if (f.size() < 7) continue;
    if (f[0] == user || (is_number(user) && f[2] == user)) {
      id.uid = static_cast<uid_t>(std::stoul(f[2]));
      id.gid = static_cast<gid_t>(std::stoul(f[3]));
      id.home = f[5];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!is_number(user)) throw Error("unable to find user " + user + ": no matching entries in passwd file");
    id.uid = static_cast<uid_t>(std::stoul(user));
    id.gid = 0;
  }
  std::string user_name = found ? user : "";
  if (!group.empty()) {
    bool gfound = false;
    for (const auto& f : read_colon_file(group_path)) {
      if (f.size() >= 3 && (f[0] == group || (is_number(group) && f[2] == group))) {
        id.gid = static_cast<gid_t>(std::stoul(f[2]));
        gfound = true;
        break;
      }
    }
    if (!gfound) {
      if (!is_number(group))
        throw Error("unable to find group " + group + ": no matching entries in group file");
      id.gid = static_cast<gid_t>(std::stoul(group));
    }
  }
  // Supplementary groups: every group that lists the user by name.
  for (const auto& f : read_colon_file(group_path)) {
    if (f.size() < 4 || user_name.empty()) continue;
    std::istringstream members(f[3]);
    std::string m;
    while (std::getline(members, m, ','))
      if (m == user_name) id.groups.push_back(static_cast<gid_t>(std::stoul(f[2])));
  }
  return id;
}

void switch_to(const Identity& id) {
  std::string groups;
  for (gid_t g : id.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
  explain::step("setgroups/setgid/setuid", "setpriv --reuid=" + std::to_string(id.uid) +
                                               " --regid=" + std::to_string(id.gid) +
                                               (groups.empty() ? " --clear-groups" : " --groups=" + groups));
  check_sys(::setgroups(id.groups.size(), id.groups.data()), "setgroups");
  check_sys(::setgid(id.gid), "setgid");
  check_sys(::setuid(id.uid), "setuid");
}

}  // namespace mctr::user
