// `minictr events`: what happened to containers, as Docker reports it. Each
// verb and each supervisor appends one JSON line per event to
// <root>/events.log, opened O_APPEND and written in one write(2): lines from
// concurrent writers never interleave. `events` reads the past ones and
// follows the file (inotify) for new ones; there is no daemon to ask.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "container/config.h"

namespace mctr::container {

struct Event {
  std::string type = "container";
  std::string
      action;  // create, start, die, stop, kill, restart, destroy, rename, oom, health_status: healthy...
  std::string id;
  std::map<std::string, std::string> attributes;  // image, name, exitCode, signal, ...
  int64_t time_nano = 0;                          // since the epoch
};

std::filesystem::path events_log(const std::filesystem::path& root);

// Record an event of `cfg`'s container now. Never throws: an event that
// cannot be written must not fail the verb that caused it.
void emit_event(const std::filesystem::path& root, const std::string& action, const Config& cfg,
                const std::map<std::string, std::string>& extra = {});

// Docker's JSON for an event (docker events --format json) and back.
nlohmann::json event_json(const Event& e);
std::optional<Event> event_from_line(const std::string& line);
// Docker's default line: "2026-12-05T16:30:00.123456789Z container start ID (image=busybox, name=web)".
std::string event_text(const Event& e);

// --filter KEY=VALUE: container (id, id prefix or name), event (action, or
// its part before ":"), image, type. Values of one key are alternatives;
// different keys must all match.
class EventFilter {
 public:
  void add(const std::string& key_value);  // throws Error on an unknown key
  bool matches(const Event& e) const;

 private:
  std::map<std::string, std::vector<std::string>> by_key_;
};

// --since / --until: a Unix time ("1733412345", "1733412345.5"), an RFC 3339
// time ("2026-12-05T16:30:00Z"), or a Go duration back from `now_nano`
// ("10m"). Returns nanoseconds since the epoch; throws Error otherwise.
int64_t parse_event_time(const std::string& text, int64_t now_nano);
int64_t now_nano();

}  // namespace mctr::container
