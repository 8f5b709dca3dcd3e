#include "linux/net/ipam.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::net {

namespace {

// The lease file is plain text, a line per container, because every attach
// reads and rewrites it whole under the lock: with a JSON document this was
// the part of a start that grew with the number of containers on the bridge
// (docs/performance.md, Density).
constexpr std::string_view kHeader =
    "# minictr leases: a line per container, tab-separated: id ip ip6 host_veth attached attaching_pid "
    "name aliases(,) ports(proto/host_ip/host_port/container_port,) owner\n";
constexpr size_t kFields = 10;

// A field may hold any byte but these four, which separate fields, lines and
// list items; they are written as \\ \t \n \,.
void append_escaped(std::string& out, std::string_view v) {
  // Nearly every field has nothing to escape: the file is read and written
  // whole at each attach, so that case is one append.
  auto special = [](char c) { return c == '\\' || c == '\t' || c == '\n' || c == ','; };
  if (std::none_of(v.begin(), v.end(), special)) {
    out += v;
    return;
  }
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case ',':
        out += "\\,";
        break;
      default:
        out += c;
    }
  }
}

// The value of an escaped field.
std::string unescaped(std::string_view v) {
  if (v.find('\\') == std::string_view::npos) return std::string(v);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      const char e = v[++i];
      out += e == 't' ? '\t' : e == 'n' ? '\n' : e;
    } else {
      out += v[i];
    }
  }
  return out;
}

// `line` split at each `sep` that is not escaped; the parts keep their escapes.
std::vector<std::string_view> split_raw(std::string_view line, char sep) {
  std::vector<std::string_view> parts;
  size_t from = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] == '\\') {
      ++i;
      continue;
    }
    if (i == line.size() || line[i] == sep) {
      parts.push_back(line.substr(from, i - from));
      from = i + 1;
    }
  }
  return parts;
}

template <typename T>
T number(const std::string& text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) throw Error("not a number: '" + text + "'");
  return v;
}

PortMapping port_from_text(const std::string& text) {
  std::vector<std::string> f;
  for (auto part : split_raw(text, '/')) f.emplace_back(part);  // list_from unescaped it
  if (f.size() != 4) throw Error("bad port '" + text + "'");
  PortMapping p;
  p.proto = f[0];
  p.host_ip = f[1];
  p.host_port = number<uint16_t>(f[2]);
  p.container_port = number<uint16_t>(f[3]);
  return p;
}

std::vector<std::string> list_from(std::string_view field) {
  std::vector<std::string> items;
  if (field.empty()) return items;
  for (auto item : split_raw(field, ',')) items.push_back(unescaped(item));
  return items;
}

Lease lease_from_line(std::string_view line) {
  const auto f = split_raw(line, '\t');
  if (f.size() != kFields)
    throw Error(std::to_string(f.size()) + " fields instead of " + std::to_string(kFields));
  Lease l;
  l.container_id = unescaped(f[0]);
  l.ip = unescaped(f[1]);
  l.ip6 = unescaped(f[2]);
  l.host_veth = unescaped(f[3]);
  l.attached = f[4] == "1";
  l.attaching_pid = number<pid_t>(unescaped(f[5]));
  l.name = unescaped(f[6]);
  l.aliases = list_from(f[7]);
  for (const auto& p : list_from(f[8])) l.ports.push_back(port_from_text(p));
  l.owner = unescaped(f[9]);
  return l;
}

void append_line(std::string& out, const Lease& l) {
  auto field = [&](std::string_view v) {
    append_escaped(out, v);
    out += '\t';
  };
  field(l.container_id);
  field(l.ip);
  field(l.ip6);
  field(l.host_veth);
  field(l.attached ? "1" : "0");
  field(std::to_string(l.attaching_pid));
  field(l.name);
  std::string list;
  for (const auto& a : l.aliases) {
    if (!list.empty()) list += ',';
    append_escaped(list, a);
  }
  out += list + '\t';
  list.clear();
  for (const auto& p : l.ports) {
    if (!list.empty()) list += ',';
    // An address has no '/': only the field's own separators need escaping.
    append_escaped(list, p.proto + "/" + p.host_ip + "/" + std::to_string(p.host_port) + "/" +
                             std::to_string(p.container_port));
  }
  out += list + '\t';
  append_escaped(out, l.owner);
  out += '\n';
}

// Leases kept by a minictr from before the text file (ipam.json), read once
// so that an upgrade does not hand out an address a running container holds.
std::map<std::string, Lease> read_json_leases(const std::filesystem::path& file) {
  std::map<std::string, Lease> leases;
  auto text = fs::read_file_if_exists(file);
  if (!text || text->empty()) return leases;
  try {
    const auto doc = nlohmann::json::parse(*text);
    for (const auto& [id, j] : doc.at("leases").items()) {
      Lease l;
      l.container_id = id;
      l.owner = j.value("owner", "");
      l.name = j.value("name", "");
      l.aliases = j.value("aliases", std::vector<std::string>{});
      l.ip = j.at("ip").get<std::string>();
      l.ip6 = j.value("ip6", "");
      l.host_veth = j.at("host_veth").get<std::string>();
      l.attached = j.value("attached", false);
      l.attaching_pid = j.value("attaching_pid", 0);
      for (const auto& p : j.value("ports", nlohmann::json::array()))
        l.ports.push_back({p.at("host_ip").get<std::string>(), p.at("host_port").get<uint16_t>(),
                           p.at("container_port").get<uint16_t>(), p.at("proto").get<std::string>()});
      leases[id] = std::move(l);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("corrupt IPAM file " + file.string() + ": " + e.what());
  }
  return leases;
}

// The file's text: its header and a line per lease, sorted by id.
std::string leases_text(const std::map<std::string, Lease>& leases) {
  std::string out(kHeader);
  for (const auto& [id, l] : leases) append_line(out, l);
  return out;
}

std::filesystem::path old_json_file(const std::filesystem::path& lease_file) {
  return lease_file.parent_path() / "ipam.json";
}

}  // namespace

std::filesystem::path lease_file(const std::filesystem::path& dir) { return dir / "leases"; }

std::map<std::string, Lease> read_leases(const std::filesystem::path& file) {
  std::map<std::string, Lease> leases;
  auto text = fs::read_file_if_exists(file);
  if (!text) return read_json_leases(old_json_file(file));
  std::string_view rest = *text;
  for (size_t line_no = 1; !rest.empty(); ++line_no) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (line.empty() || line.front() == '#') continue;
    try {
      Lease l = lease_from_line(line);
      leases[l.container_id] = std::move(l);
    } catch (const Error& e) {
      throw Error("corrupt lease file " + file.string() + " line " + std::to_string(line_no) + ": " +
                  e.what());
    }
  }
  return leases;
}

LeaseFile::LeaseFile(const std::filesystem::path& dir)
    : lock_(dir / "ipam.lock"), file_(lease_file(dir)), leases_(read_leases(file_)) {}

void LeaseFile::save() {
  // Write a temp file and rename it over: readers see the old or the new
  // leases, never half a file. No fsync (unlike fs::write_file_atomic, it
  // costs ~10 ms per save on ext4): after a crash or power loss every
  // container and veth is gone too, and their leases would be dropped as stale.
  const std::filesystem::path tmp = file_.string() + ".tmp";  // we hold the lock: one writer
  const std::string data = leases_text(leases_);
  UniqueFd fd(check_sys(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", tmp));
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write", tmp);
    done += static_cast<size_t>(n);
  }
  fd.reset();
  fs::keep_open_until_released(file_);  // the old leases' blocks are freed later
  check_sys(::rename(tmp.c_str(), file_.c_str()), "rename", file_);
  // The leases of an older minictr are in this file now.
  if (::unlink(old_json_file(file_).c_str()) != 0 && errno != ENOENT)
    throw_sys("unlink", old_json_file(file_));
}

uint32_t LeaseFile::free_ip(const Subnet& subnet) const {
  std::set<uint32_t> used;
  for (const auto& [id, l] : leases_) used.insert(parse_ipv4(l.ip));
  for (uint32_t a = subnet.gateway() + 1; a < subnet.broadcast(); ++a)
    if (!used.count(a)) return a;
  throw Error("no free address left in subnet " + subnet.cidr());
}

Ipv6 LeaseFile::free_ip6(const Subnet6& subnet) const {
  std::set<Ipv6> used;
  for (const auto& [id, l] : leases_)
    if (!l.ip6.empty()) used.insert(parse_ipv6(l.ip6));
  for (uint32_t i = 2; i < subnet.size(); ++i)
    if (!used.count(subnet.host(i))) return subnet.host(i);
  throw Error("no free address left in subnet " + subnet.cidr());
}

bool LeaseFile::host_port_taken(const PortMapping& p) const {
  for (const auto& [id, l] : leases_)
    for (const auto& q : l.ports)
      // "" (all addresses) conflicts with every specific address and vice versa.
      if (q.proto == p.proto && q.host_port == p.host_port &&
          (q.host_ip.empty() || p.host_ip.empty() || q.host_ip == p.host_ip))
        return true;
  return false;
}

}  // namespace mctr::net
