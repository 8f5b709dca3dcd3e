#include "linux/user.h"

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <sstream>

#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"

namespace mctr::user {

// The container's passwd or group file: a missing one has no entries (a
// numeric -u still works, as in runc). Anything else than a regular file up
// to 4 MiB is an error, never a hang: the container controls these files
// (see fs::read_untrusted_file). `who`: "user X" or "group X", for the message.
static std::vector<std::vector<std::string>> read_colon_file(const std::string& path,
                                                             const std::string& who) {
  std::vector<std::vector<std::string>> rows;
  std::optional<std::string> content;
  try {
    content = fs::read_untrusted_file(path, AT_FDCWD);
  } catch (const Error& e) {
    throw Error("unable to find " + who + ": " + e.what());
  }
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

// A uid or gid field of the container's files; hostile content ("x",
// 99999999999) must not reach std::stoul's exceptions.
static bool parse_id(const std::string& s, uint32_t& out) {
  if (!is_number(s) || s.size() > 10) return false;
  unsigned long v = std::stoul(s);
  if (v > kMaxId) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// One part of a -u spec: a number or a name.
static void check_spec_part(const std::string& spec, const std::string& part, const char* what) {
  if (part.empty()) throw Error("invalid user '" + spec + "': empty " + what);
  if (is_number(part)) {
    if (part.size() > 10 || std::stoull(part) > kMaxId)
      throw Error("invalid user '" + spec + "': " + what + " id " + part + " is out of range (0-" +
                  std::to_string(kMaxId) + ")");
    return;
  }
  bool ok = part[0] != '-';
  for (char c : part)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-' || c == '$');
  if (!ok)
    throw Error("invalid user '" + spec + "': '" + part + "' is neither a " + what + " name nor an id");
}

void check_spec(const std::string& spec) {
  auto c = spec.find(':');
  check_spec_part(spec, spec.substr(0, c), "user");
  if (c == std::string::npos) return;
  std::string group = spec.substr(c + 1);
  if (group.find(':') != std::string::npos) throw Error("invalid user '" + spec + "': more than one ':'");
  check_spec_part(spec, group, "group");
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
  auto passwd = read_colon_file(passwd_path, "user " + user);
  std::string user_name;  // the passwd entry's name, for the supplementary groups
  for (const auto& f : passwd) {
    uint32_t uid, gid;
    if (f.size() < 7 || !parse_id(f[2], uid) || !parse_id(f[3], gid)) continue;
    if (f[0] == user || (is_number(user) && f[2] == user)) {
      id.uid = uid;
      id.gid = gid;
      id.home = f[5];
      user_name = f[0];
      break;
    }
  }
  if (user_name.empty()) {
    uint32_t uid;
    if (!parse_id(user, uid))
      throw Error("unable to find user " + user + ": no matching entries in passwd file");
    id.uid = uid;
    id.gid = 0;
  }
  // Read only when needed: a numeric user without a group needs no file.
  std::vector<std::vector<std::string>> groups;
  if (!group.empty() || !user_name.empty())
    groups = read_colon_file(group_path, group.empty() ? "the groups of user " + user : "group " + group);
  if (!group.empty()) {
    bool gfound = false;
    for (const auto& f : groups) {
      uint32_t gid;
      if (f.size() >= 3 && parse_id(f[2], gid) && (f[0] == group || (is_number(group) && f[2] == group))) {
        id.gid = gid;
        gfound = true;
        break;
      }
    }
    if (!gfound) {
      uint32_t gid;
      if (!parse_id(group, gid))
        throw Error("unable to find group " + group + ": no matching entries in group file");
      id.gid = gid;
    }
  }
  // Supplementary groups: every group that lists the user by name.
  for (const auto& f : groups) {
    uint32_t gid;
    if (f.size() < 4 || user_name.empty() || !parse_id(f[2], gid)) continue;
    std::istringstream members(f[3]);
    std::string m;
    while (std::getline(members, m, ','))
      if (m == user_name) id.groups.push_back(gid);
  }
  return id;
}

void switch_to(const Identity& id) {
  std::string groups;
  for (gid_t g : id.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
  explain::step(explain::Kind::kCredentials, "setgroups/setgid/setuid",
                "setpriv --reuid=" + std::to_string(id.uid) + " --regid=" + std::to_string(id.gid) +
                    (groups.empty() ? " --clear-groups" : " --groups=" + groups));
  check_sys(::setgroups(id.groups.size(), id.groups.data()), "setgroups");
  check_sys(::setgid(id.gid), "setgid");
  check_sys(::setuid(id.uid), "setuid");
}

}  // namespace mctr::user
