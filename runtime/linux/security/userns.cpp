#include "linux/security/userns.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "util/error.h"
#include "util/fd.h"

namespace mctr::security {

static uint32_t parse_id(const std::string& s, const std::string& spec) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 10)
    throw Error("invalid id mapping '" + spec + "': want CONTAINER_ID:HOST_ID:SIZE");
  unsigned long v = std::stoul(s);
  if (v > UINT32_MAX) throw Error("invalid id mapping '" + spec + "': id too large");
  return static_cast<uint32_t>(v);
}

std::vector<IdMapping> parse_id_mappings(const std::string& spec) {
  std::vector<IdMapping> out;
  std::stringstream all(spec);
  std::string one;
  while (std::getline(all, one, ',')) {
    std::stringstream parts(one);
    std::string a, b, c, extra;
    if (!std::getline(parts, a, ':') || !std::getline(parts, b, ':') || !std::getline(parts, c, ':') ||
        std::getline(parts, extra, ':'))
      throw Error("invalid id mapping '" + one + "': want CONTAINER_ID:HOST_ID:SIZE");
    IdMapping m{parse_id(a, one), parse_id(b, one), parse_id(c, one)};
    if (m.size == 0) throw Error("invalid id mapping '" + one + "': size must be > 0");
    out.push_back(m);
  }
  if (out.empty()) throw Error("invalid id mapping '" + spec + "': empty");
  return out;
}

std::string format_id_map(const std::vector<IdMapping>& maps) {
  std::string s;
  for (const auto& m : maps)
    s += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) +
         "\n";
  return s;
}

// One write(2): the kernel parses the whole map from a single write and
// refuses a second one (EPERM).
static void write_once(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_sys("open", path);
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) throw_sys("write", path);
  if (static_cast<size_t>(n) != text.size()) throw Error("write(" + path + "): short write");
}

void write_id_maps(pid_t pid, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids) {
  const std::string proc = "/proc/" + std::to_string(pid);
  write_once(proc + "/gid_map", format_id_map(gids));
  write_once(proc + "/uid_map", format_id_map(uids));
}

uint32_t host_id_of(uint32_t id, const std::vector<IdMapping>& maps) {
  for (const auto& m : maps)
    if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
  return id;
}

IdMapping remap_range(const std::string& subid_file) {
  std::ifstream in(subid_file);
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream parts(line);
    std::string name, start, count;
    if (!std::getline(parts, name, ':') || (name != "dockremap" && name != "root")) continue;
    if (!std::getline(parts, start, ':') || !std::getline(parts, count)) continue;
    try {
      IdMapping m{0, parse_id(start, line), parse_id(count, line)};
      if (m.size > 0 && uint64_t{m.host_id} + m.size <= UINT32_MAX) return m;
    } catch (const Error&) {
    }  // a malformed line: the next one, as shadow's tools do
  }
  return {0, 100000, 65536};
}

IdMapping parse_userns_range(const std::string& value) {
  auto bad = [&](const std::string& why) {
    return Error("invalid --userns '" + value + "': " + why +
                 " (want host, remap or CONTAINER_ID:HOST_ID:SIZE, e.g. 0:100000:65536)");
  };
  if (value.find(',') != std::string::npos) throw bad("one range only");
  IdMapping m;
  try {
    m = parse_id_mappings(value).front();
  } catch (const Error&) {
    throw bad("not a range");
  }
  if (m.container_id != 0) throw bad("the range must start at container id 0 (the container's root)");
  if (uint64_t{m.host_id} + m.size > UINT32_MAX) throw bad("host ids beyond 4294967294");
  if (m.host_id == 0) throw bad("host id 0 would make the container's root the host's");
  return m;
}

}  // namespace mctr::security
