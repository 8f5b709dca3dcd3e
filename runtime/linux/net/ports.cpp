// Port publishing specs: `-p [hostip:]hostport:containerport[/proto]`, `-P`.
#include "linux/net/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>

#include "linux/net/ipv4.h"

namespace mctr::net {

namespace {

[[noreturn]] void bad_spec(const std::string& spec, const std::string& why) {
  throw Error("invalid port mapping '" + spec + "': " + why);
}

// "1".."65535" only: no signs, spaces or leading junk.
uint16_t parse_port(const std::string& spec, const std::string& text, const char* which) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    bad_spec(spec, std::string(which) + " '" + text + "' is not a number");
  if (value == 0 || value > 65535) bad_spec(spec, std::string(which) + " must be 1..65535");
  return static_cast<uint16_t>(value);
}

// Split off "/tcp" or "/udp" (default tcp).
std::string take_proto(const std::string& spec, std::string& rest) {
  auto slash = rest.rfind('/');
  if (slash == std::string::npos) return "tcp";
  std::string proto = rest.substr(slash + 1);
  rest.resize(slash);
  if (proto != "tcp" && proto != "udp") bad_spec(spec, "protocol must be tcp or udp");
  return proto;
}

// "80" or "8000-8002" -> {first, last}.
struct PortRange {
  uint16_t first = 0, last = 0;
  size_t size() const { return size_t{last} - first + 1; }
};
PortRange parse_port_range(const std::string& spec, const std::string& text, const char* which) {
  auto dash = text.find('-');
  if (dash == std::string::npos) {
    uint16_t port = parse_port(spec, text, which);
    return {port, port};
  }
  PortRange r{parse_port(spec, text.substr(0, dash), which), parse_port(spec, text.substr(dash + 1), which)};
  if (r.last < r.first) bad_spec(spec, std::string(which) + " range '" + text + "' ends before it starts");
  return r;
}

}  // namespace

std::vector<PortMapping> parse_port_mappings(const std::string& spec) {
  std::string rest = spec;
  const std::string proto = take_proto(spec, rest);

  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = rest.find(':', start)) != std::string::npos; start = colon + 1)
    parts.push_back(rest.substr(start, colon - start));
  parts.push_back(rest.substr(start));
  if (parts.size() > 3) bad_spec(spec, "expected [hostip:]hostport:containerport[/proto]");

  const PortRange container = parse_port_range(spec, parts.back(), "container port");
  PortRange host{};  // {0, 0}: attach() picks free host ports
  if (parts.size() >= 2) {
    const std::string& host_port = parts[parts.size() - 2];
    // "hostip::80" and "0:80" (as Docker) leave the host port for attach() to choose.
    if (!(parts.size() == 3 && host_port.empty()) && host_port != "0")
      host = parse_port_range(spec, host_port, "host port");
  }
  std::string host_ip;
  if (parts.size() == 3) {
    try {
      host_ip = format_ipv4(parse_ipv4(parts[0]));
    } catch (const Error&) {
      bad_spec(spec, "host IP '" + parts[0] + "' is not an IPv4 address");
    }
    if (host_ip == "0.0.0.0") host_ip.clear();  // all addresses, as with no IP
  }

  // Docker's rules: equal-sized ranges map port by port (8000-8002:80-82);
  // a host range with ONE container port means "any one free host port of
  // that range" (8080-8081:80, picked by attach()); anything else is an error.
  const bool pick_one = host.first != 0 && container.size() == 1 && host.size() > 1;
  if (host.first != 0 && !pick_one && host.size() != container.size())
    bad_spec(spec, "host port range has " + std::to_string(host.size()) +
                       " ports but container port range has " + std::to_string(container.size()));
  std::vector<PortMapping> out;
  for (size_t i = 0; i < container.size(); ++i) {
    PortMapping p;
    p.host_ip = host_ip;
    p.proto = proto;
    p.container_port = static_cast<uint16_t>(container.first + i);
    if (pick_one) {
      p.host_port = host.first;
      p.host_port_end = host.last;
    } else if (host.first != 0) {
      p.host_port = static_cast<uint16_t>(host.first + i);
    }
    out.push_back(p);
  }
  return out;
}

PortMapping parse_port_mapping(const std::string& spec) {
  std::vector<PortMapping> ports = parse_port_mappings(spec);
  if (ports.size() != 1) bad_spec(spec, "a range of container ports is not a single mapping");
  return ports.front();
}

std::string format_port_mapping(const PortMapping& p) {
  std::string s = p.host_ip.empty() ? "" : p.host_ip + ":";
  s += std::to_string(p.host_port);
  if (p.host_port_end != 0) s += "-" + std::to_string(p.host_port_end);
  return s + ":" + std::to_string(p.container_port) + "/" + p.proto;
}

std::vector<PortMapping> publish_all(const std::vector<std::string>& exposed_ports) {
  std::vector<PortMapping> out;
  for (const std::string& e : exposed_ports) {
    std::string rest = e;
    PortMapping p;
    p.proto = take_proto(e, rest);
    p.container_port = parse_port(e, rest, "exposed port");
    out.push_back(p);  // host_port 0: attach() picks a free one
  }
  return out;
}

namespace {

std::string address_text(const PortMapping& p) {
  return (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port);
}

}  // namespace

HeldPort hold_host_port(const PortMapping& p) {
  const bool udp = p.proto == "udp";
  HeldPort held;
  held.socket.reset(
      check_sys(::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0), "socket"));
  const int s = held.socket.get();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(p.host_ip.empty() ? INADDR_ANY : parse_ipv4(p.host_ip));
  addr.sin_port = htons(p.host_port);
  // TCP: SO_REUSEADDR, so connections of an earlier server still in
  // TIME_WAIT do not make the port busy. Once this socket listens, a later
  // bind fails even with SO_REUSEADDR: Linux lets two sockets share a TCP
  // port only while neither listens. UDP: no SO_REUSEADDR, which would let a
  // later socket that also sets it share the port.
  if (!udp) {
    int one = 1;
    check_sys(::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "setsockopt(SO_REUSEADDR)",
              address_text(p));
  }
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno == EADDRINUSE) throw PortInUse(port_allocated_message(p));
    if (errno == EADDRNOTAVAIL) throw Error("host IP " + p.host_ip + " is not an address of this host");
    throw_sys("bind", address_text(p));
  }
  socklen_t len = sizeof addr;
  check_sys(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), "getsockname", address_text(p));
  held.port = ntohs(addr.sin_port);
  return held;
}

std::string port_allocated_message(const PortMapping& p) {
  return "Bind for " + address_text(p) + " failed: port is already allocated";
}

void listen_on_held_port(const UniqueFd& socket, const PortMapping& p) {
  if (p.proto == "udp") return;
  // Backlog 0: nothing is ever accepted here. Traffic for the port, also
  // from the host itself, is DNAT'ed (prerouting / output hooks) before the
  // kernel looks for a local socket, so it reaches the container.
  if (::listen(socket.get(), 0) < 0) {
    // Another SO_REUSEADDR socket bound the port since our bind and listened first.
    if (errno == EADDRINUSE) throw PortInUse(port_allocated_message(p));
    throw_sys("listen", address_text(p));
  }
}

uint16_t pick_free_host_port(const std::string& proto, const std::string& host_ip) {
  // Bind to port 0 gives a port nobody is bound to (free again on return).
  return hold_host_port({host_ip, 0, 0, proto, 0}).port;
}

void check_host_port_free(const PortMapping& p) { hold_host_port(p); }

}  // namespace mctr::net
