// minictr events [--since T] [--until T] [--filter KEY=VALUE]... [--format json|TEMPLATE]
// The containers' events (container/events.h): those in the --since window
// first, then new ones as they are written, until --until or ^C.
#include "container/events.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/verbs.h"
#include "container/state.h"
#include "util/fd.h"
#include "util/template.h"

namespace mctr::cli {

namespace {

// The fields a Go template sees (Docker's events.Message).
nlohmann::json template_fields(const container::Event& e) {
  return {{"Type", e.type},
          {"Action", e.action},
          {"Status", e.action},
          {"ID", e.id},
          {"From", e.attributes.count("image") ? e.attributes.at("image") : ""},
          {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}},
          {"Scope", "local"},
          {"Time", e.time_nano / 1'000'000'000},
          {"TimeNano", e.time_nano}};
}

struct Printer {
  std::string format;
  container::EventFilter filter;
  int64_t since = 0, until = INT64_MAX;

  // One line of the log; false once past --until.
  bool line(const std::string& text) {
    auto e = container::event_from_line(text);
    if (!e) return true;
    if (e->time_nano > until) return false;
    if (e->time_nano < since || !filter.matches(*e)) return true;
    if (format.empty())
      std::cout << container::event_text(*e) << "\n";
    else if (format == "json" || format == "{{json .}}")
      std::cout << container::event_json(*e).dump() << "\n";
    else
      std::cout << tmpl::render(format, template_fields(*e)) << "\n";
    std::cout.flush();
    return true;
  }
};

// New bytes of the log from `offset` on, whole lines only.
bool read_new(const std::filesystem::path& log, std::streamoff& offset, std::string& partial, Printer& p) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return true;
  in.seekg(0, std::ios::end);
  if (in.tellg() < offset) offset = 0;  // the log was replaced
  in.seekg(offset);
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  offset += static_cast<std::streamoff>(chunk.size());
  partial += chunk;
  for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
    std::string one = partial.substr(0, nl);
    partial.erase(0, nl + 1);
    if (!p.line(one)) return false;
  }
  return true;
}

}  // namespace

void add_events(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("events", "Get real time events from containers");
  struct F {
    std::string since, until, format;
    std::vector<std::string> filters;
  };
  auto f = std::make_shared<F>();
  sub->add_option("--since", f->since,
                  "Show events created since timestamp (Unix, RFC 3339 or a duration: 10m)");
  sub->add_option("--until", f->until, "Stream events until this timestamp");
  sub->add_option("-f,--filter", f->filters, "Filter output: container=, event=, image=, type=")
      ->allow_extra_args(false);
  sub->add_option("--format", f->format,
                  "json, or a Go template, e.g. '{{.Action}} {{.Actor.Attributes.name}}'");
  sub->callback([&g, f] {
    Printer p;
    p.format = f->format;
    for (const auto& kv : f->filters) p.filter.add(kv);
    const int64_t now = container::now_nano();
    if (!f->since.empty()) p.since = container::parse_event_time(f->since, now);
    if (!f->until.empty()) p.until = container::parse_event_time(f->until, now);
    const auto root = g.root();
    container::Store store(root);  // makes the state root if there is none yet
    const auto log = container::events_log(root);
    // Watch the directory: the log may not exist yet.
    UniqueFd watch(check_sys(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK), "inotify_init1"));
    check_sys(::inotify_add_watch(watch.get(), root.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO),
              "inotify_add_watch", root);
    std::streamoff offset = 0;
    std::string partial;
    if (f->since.empty()) {  // as Docker: without --since, only what happens from now on
      std::error_code ec;
      auto size = std::filesystem::file_size(log, ec);
      offset = ec ? 0 : static_cast<std::streamoff>(size);
    }
    g.exit_code = 0;
    if (!read_new(log, offset, partial, p)) return;
    for (;;) {
      int timeout = -1;
      if (p.until != INT64_MAX) {
        const int64_t left_ms = (p.until - container::now_nano()) / 1'000'000;
        if (left_ms < 0) return;
        timeout = static_cast<int>(std::min<int64_t>(left_ms + 1, 1'000'000));
      }
      pollfd pfd{watch.get(), POLLIN, 0};
      int r = ::poll(&pfd, 1, timeout);
      if (r < 0 && errno == EINTR) continue;
      if (r > 0) {
        char buf[4096];
        while (::read(watch.get(), buf, sizeof buf) > 0) {
        }
      }
      if (!read_new(log, offset, partial, p)) return;
    }
  });
}

}  // namespace mctr::cli
