#include "container/events.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "container/health.h"
#include "util/error.h"

namespace mctr::container {

using nlohmann::json;

std::filesystem::path events_log(const std::filesystem::path& root) { return root / "events.log"; }

int64_t now_nano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json event_json(const Event& e) {
  json j = {{"Type", e.type},
            {"Action", e.action},
            {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}},
            {"scope", "local"},
            {"time", e.time_nano / 1'000'000'000},
            {"timeNano", e.time_nano}};
  if (e.type == "container") {  // the fields older Docker clients read
    j["status"] = e.action;
    j["id"] = e.id;
    if (auto it = e.attributes.find("image"); it != e.attributes.end()) j["from"] = it->second;
  }
  return j;
}

std::optional<Event> event_from_line(const std::string& line) {
  try {
    json j = json::parse(line);
    Event e;
    e.type = j.value("Type", "container");
    e.action = j.value("Action", "");
    e.id = j.at("Actor").value("ID", "");
    e.attributes = j.at("Actor").value("Attributes", std::map<std::string, std::string>{});
    e.time_nano = j.value("timeNano", int64_t{0});
    return e;
  } catch (const json::exception&) {
    return std::nullopt;  // a line cut short by a full disk: skipped
  }
}

std::string event_text(const Event& e) {
  std::string attrs;
  for (const auto& [k, v] : e.attributes) attrs += (attrs.empty() ? "" : ", ") + k + "=" + v;
  return rfc3339(e.time_nano) + " " + e.type + " " + e.action + " " + e.id +
         (attrs.empty() ? "" : " (" + attrs + ")");
}

void emit_event(const std::filesystem::path& root, const std::string& action, const Config& cfg,
                const std::map<std::string, std::string>& extra) {
  Event e;
  e.action = action;
  e.id = cfg.id;
  e.attributes = {{"image", cfg.image}, {"name", cfg.name}};
  for (const auto& [k, v] : extra) e.attributes[k] = v;
  e.time_nano = now_nano();
  const std::string line = event_json(e).dump() + "\n";
  const auto path = events_log(root);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  // One write: O_APPEND makes seek-and-write atomic, so concurrent lines never mix.
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
  ::close(fd);
}

void EventFilter::add(const std::string& key_value) {
  const auto eq = key_value.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("bad format of filter (expected name=value): " + key_value);
  const std::string key = key_value.substr(0, eq);
  if (key != "container" && key != "event" && key != "image" && key != "type")
    throw Error("invalid filter '" + key + "' (container, event, image or type)");
  by_key_[key].push_back(key_value.substr(eq + 1));
}

bool EventFilter::matches(const Event& e) const {
  auto attr = [&](const char* k) {
    auto it = e.attributes.find(k);
    return it == e.attributes.end() ? std::string() : it->second;
  };
  for (const auto& [key, values] : by_key_) {
    bool any = false;
    for (const auto& v : values) {
      if (key == "container")
        any = any || (!v.empty() && e.id.rfind(v, 0) == 0) || attr("name") == v;
      else if (key == "event")
        any = any || e.action == v || e.action.substr(0, e.action.find(':')) == v;
      else if (key == "image")
        any = any || attr("image") == v;
      else if (key == "type")
        any = any || e.type == v;
    }
    if (!any) return false;
  }
  return true;
}

// "2026-12-05T16:30:00Z", "2026-12-05T16:30:00.5Z", "2026-12-05" (UTC).
static std::optional<int64_t> parse_rfc3339(const std::string& s) {
  int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10) return std::nullopt;
  double frac = 0;
  if (s.size() > 10) {
    if (s[10] != 'T' || std::sscanf(s.c_str() + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &used) != 3)
      return std::nullopt;
    size_t i = 11 + static_cast<size_t>(used);
    if (i < s.size() && s[i] == '.') {
      size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      frac = std::stod("0" + s.substr(i, j - i));
      i = j;
    }
    if (s.substr(i) != "Z") return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  const auto t = sys_days{date} + hours{h} + minutes{mi} + seconds{sec};
  return duration_cast<nanoseconds>(t.time_since_epoch()).count() +
         static_cast<int64_t>(std::llround(frac * 1e9));
}

int64_t parse_event_time(const std::string& text, int64_t now) {
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos &&
      std::count(text.begin(), text.end(), '.') <= 1 && text[0] != '.') {
    const auto dot = text.find('.');
    int64_t ns = std::stoll(text.substr(0, dot)) * 1'000'000'000;
    if (dot != std::string::npos) {
      std::string frac = text.substr(dot + 1).substr(0, 9);
      frac.resize(9, '0');
      ns += std::stoll(frac);
    }
    return ns;
  }
  if (auto t = parse_rfc3339(text)) return *t;
  try {
    return now - parse_go_duration(text);
  } catch (const Error&) {
    throw Error("invalid time \"" + text + "\": want a Unix time, an RFC 3339 time or a duration (10m)");
  }
}

}  // namespace mctr::container
