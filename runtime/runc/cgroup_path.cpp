#include "runc/cgroup_path.h"

#include <filesystem>
#include <sstream>
#include <vector>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::runc {

namespace {

// The runtime's own group: the v1 memory hierarchy's line, else the v2 one ("0::/x").
std::string own_group(const std::string& self_cgroup) {
  std::istringstream in(self_cgroup);
  std::string v2;
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::istringstream cs(controllers);
    for (std::string c; std::getline(cs, c, ',');)
      if (c == "memory") return path;
    if (controllers.empty()) v2 = path;
  }
  return v2;
}

std::string clean(const std::string& path) {
  std::string out;
  for (const auto& part : std::filesystem::path(path)) {
    std::string p = part.string();
    if (p == "/" || p.empty() || p == ".") continue;
    if (p == "..") throw Error("cgroupsPath \"" + path + "\": \"..\" is not allowed");
    out += (out.empty() ? "" : "/") + p;
  }
  return out;
}

std::string systemd_path(const std::string& triple) {
  std::vector<std::string> parts;
  std::istringstream in(triple);
  for (std::string p; std::getline(in, p, ':');) parts.push_back(p);
  if (parts.size() != 3)
    throw Error("cgroupsPath \"" + triple + "\": expected \"slice:prefix:name\" with --systemd-cgroup");
  std::string slice = parts[0].empty() ? "system.slice" : parts[0];
  if (slice.size() < 7 || slice.compare(slice.size() - 6, 6, ".slice") != 0)
    throw Error("cgroupsPath \"" + triple + "\": \"" + slice + "\" is not a systemd slice");
  std::string unit = parts[2];
  // A name that is a slice itself is used as is (systemd makes it a sub-slice).
  if (unit.size() <= 6 || unit.compare(unit.size() - 6, 6, ".slice") != 0)
    unit = (parts[1].empty() ? "" : parts[1] + "-") + unit + ".scope";
  std::string base = expand_slice(slice);
  return clean(base + "/" + unit);
}

}  // namespace

std::string expand_slice(const std::string& slice) {
  const std::string suffix = ".slice";
  if (slice == "-.slice") return "";
  if (slice.size() <= suffix.size() ||
      slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0)
    throw Error("invalid systemd slice \"" + slice + "\"");
  std::string name = slice.substr(0, slice.size() - suffix.size());
  if (name.find('/') != std::string::npos || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string::npos)
    throw Error("invalid systemd slice \"" + slice + "\"");
  std::string out, prefix;
  std::istringstream in(name);
  for (std::string part; std::getline(in, part, '-');) {
    prefix += (prefix.empty() ? "" : "-") + part;
    out += (out.empty() ? "" : "/") + prefix + suffix;
  }
  return out;
}

std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id, bool systemd,
                                 const std::string& self_cgroup) {
  if (systemd) {
    if (cgroups_path.empty()) return systemd_path("system.slice:minictr-runc:" + id);
    return systemd_path(cgroups_path);
  }
  if (!cgroups_path.empty() && cgroups_path.front() == '/') {
    std::string p = clean(cgroups_path);
    if (p.empty()) throw Error("cgroupsPath \"/\": the root cgroup cannot be a container's");
    return p;
  }
  std::string rel = clean(cgroups_path.empty() ? id : cgroups_path);
  if (rel.empty()) throw Error("cgroupsPath \"" + cgroups_path + "\": empty");
  std::string base = clean(own_group(self_cgroup));
  return base.empty() ? rel : base + "/" + rel;
}

std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id, bool systemd) {
  return resolve_cgroups_path(cgroups_path, id, systemd,
                              fs::read_file_if_exists("/proc/self/cgroup").value_or(""));
}

}  // namespace mctr::runc
