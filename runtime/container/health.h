// Health checks (--health-cmd and the image's HEALTHCHECK), as dockerd runs
// them: a monitor process, forked by the container's supervisor while the
// container runs, execs the check in the container (the way `minictr exec`
// does) every interval and keeps State.Health: starting, then healthy or,
// after `retries` failures in a row, unhealthy; the last 5 results kept.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "container/config.h"
#include "container/state.h"

namespace mctr::container {

// Docker's defaults for what a check leaves at 0.
inline constexpr int64_t kDefaultHealthInterval = 30'000'000'000;      // 30 s
inline constexpr int64_t kDefaultHealthTimeout = 30'000'000'000;       // 30 s
inline constexpr int64_t kDefaultHealthStartInterval = 5'000'000'000;  // 5 s
inline constexpr int kDefaultHealthRetries = 3;
inline constexpr size_t kHealthLogEntries = 5;
inline constexpr size_t kHealthOutputMax = 4096;

// Go's time.ParseDuration: "1m30s", "500ms", "1.5h", "0" -> nanoseconds.
// Throws Error on anything else, and on a negative duration.
int64_t parse_go_duration(const std::string& text);

// The run flags (or a Compose healthcheck) over the image's HEALTHCHECK, as
// dockerd merges them: a test given replaces the image's, each duration or
// retry count given replaces the image's. A test {"NONE"} (--no-healthcheck)
// or none at all: no check. Durations are Go text ("" = not given).
struct HealthFlags {
  std::vector<std::string> test;
  std::string interval, timeout, start_period;
  int retries = 0;
};
std::optional<Healthcheck> merge_healthcheck(const std::optional<Healthcheck>& image,
                                             const HealthFlags& flags);

// The command a check runs: CMD-SHELL through /bin/sh -c, CMD as given.
std::vector<std::string> health_command(const Healthcheck& hc);

// One result into the health state (Docker's handleProbeResult): the log
// keeps the last 5; a pass makes it healthy; a failure counts towards
// `retries` (and unhealthy), except while it is still starting within its
// start period. Returns true if the status changed.
bool record_health_result(Health& h, const Healthcheck& hc, const HealthLogEntry& result,
                          bool in_start_period);

// Tell every network the container is on (its own and those `network
// connect` added) its health `status`: a balanced port (compose replicas,
// linux/net/balanced.h) keeps a member with a healthcheck in its rotation
// only while "healthy". Best effort: a network gone meanwhile is skipped.
void report_health_to_networks(const Store& store, const Config& cfg, HealthStatus status);

// Fork the monitor for the container whose init is `container_pid`
// (started at `started_ns` on CLOCK_MONOTONIC). It dies with its
// supervisor (parent-death signal) and stops when the container's init
// changes; stop_health_monitor kills and reaps it. Each change of status
// goes to the container's networks (report_health_to_networks).
pid_t start_health_monitor(const std::filesystem::path& root, const std::string& id, const Healthcheck& hc,
                           pid_t container_pid);
void stop_health_monitor(pid_t monitor);

}  // namespace mctr::container
