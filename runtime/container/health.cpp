#include "container/health.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "container/events.h"
#include "container/exec.h"
#include "container/network_connect.h"
#include "container/networks.h"
#include "linux/net/balanced.h"
#include "linux/proc.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::container {

int64_t parse_go_duration(const std::string& text) {
  const std::string bad = "invalid duration \"" + text + "\"";
  if (text.empty()) throw Error(bad);
  if (text == "0") return 0;
  double total = 0;
  size_t i = 0;
  if (text[0] == '-') throw Error(bad + ": it must not be negative");
  if (text[0] == '+') ++i;
  if (i == text.size()) throw Error(bad);
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) throw Error(bad);
    const std::string number = text.substr(start, i - start);
    if (number == "." || std::count(number.begin(), number.end(), '.') > 1) throw Error(bad);
    const size_t ustart = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    const std::string unit = text.substr(ustart, i - ustart);
    double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "µs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      throw Error(bad + (unit.empty() ? ": missing unit" : ": unknown unit \"" + unit + "\""));
    total += std::stod(number) * scale;
  }
  if (total > 9.2e18) throw Error(bad + ": too long");
  return static_cast<int64_t>(total);
}

std::optional<Healthcheck> merge_healthcheck(const std::optional<Healthcheck>& image,
                                             const HealthFlags& flags) {
  Healthcheck hc = image.value_or(Healthcheck{});
  if (!flags.test.empty()) hc.test = flags.test;
  auto duration = [](const std::string& text, const char* what, int64_t& field) {
    if (text.empty()) return;
    const int64_t ns = parse_go_duration(text);
    if (ns != 0 && ns < 1'000'000) throw Error(std::string(what) + " in Healthcheck cannot be less than 1ms");
    if (ns != 0) field = ns;
  };
  duration(flags.interval, "Interval", hc.interval);
  duration(flags.timeout, "Timeout", hc.timeout);
  duration(flags.start_period, "StartPeriod", hc.start_period);
  if (flags.retries < 0) throw Error("--health-retries cannot be negative");
  if (flags.retries > 0) hc.retries = flags.retries;
  if (hc.test.empty() || hc.test[0] == "NONE") return std::nullopt;
  if (hc.test[0] != "CMD" && hc.test[0] != "CMD-SHELL")
    throw Error("unknown health check type \"" + hc.test[0] + "\" (CMD, CMD-SHELL or NONE)");
  if (hc.test.size() < 2 || hc.test[1].empty())
    throw Error("health check " + hc.test[0] + " needs a command");
  return hc;
}

std::vector<std::string> health_command(const Healthcheck& hc) {
  if (hc.test.at(0) == "CMD-SHELL") return {"/bin/sh", "-c", hc.test.at(1)};
  return {hc.test.begin() + 1, hc.test.end()};
}

bool record_health_result(Health& h, const Healthcheck& hc, const HealthLogEntry& result,
                          bool in_start_period) {
  const HealthStatus before = h.status;
  h.log.push_back(result);
  if (h.log.size() > kHealthLogEntries) h.log.erase(h.log.begin());
  if (result.exit_code == 0) {
    h.failing_streak = 0;
    h.status = HealthStatus::kHealthy;
  } else if (!(h.status == HealthStatus::kStarting && in_start_period)) {
    // Failures while starting within the start period do not count.
    ++h.failing_streak;
    if (h.failing_streak >= (hc.retries > 0 ? hc.retries : kDefaultHealthRetries))
      h.status = HealthStatus::kUnhealthy;
  }
  return h.status != before;
}

void report_health_to_networks(const Store& store, const Config& cfg, HealthStatus status) {
  std::vector<std::string> names;
  if (cfg.network_mode.attaches_to_bridge()) names.push_back(cfg.network_mode.network_name());
  for (const auto& c : connected_networks(store, cfg.id)) names.push_back(c.network);
  const Networks networks(store);
  for (const auto& name : names) {
    try {
      net::set_member_health(networks.options_for(name), cfg.id, std::string(to_string(status)));
    } catch (const std::exception&) {
      // Removed with -f meanwhile: no rotation left to be in.
    }
  }
}

namespace {

using Clock = std::chrono::steady_clock;

// One check: `minictr exec` of its command in a forked process whose
// output goes to a pipe we read (the first 4096 bytes kept), killed when
// it overruns the timeout (then exit code -1, as Docker records it).
HealthLogEntry run_check(const Store& store, const std::string& id, const Healthcheck& hc) {
  HealthLogEntry r;
  r.start = now_rfc3339();
  int p[2];
  check_sys(::pipe2(p, O_CLOEXEC), "pipe2");
  UniqueFd out_r(p[0]), out_w(p[1]);
  pid_t probe = check_sys(::fork(), "fork");
  if (probe == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    int code = 1;
    try {
      ExecOptions o;
      o.cmd = health_command(hc);
      code = exec_in_container(store, id, o);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  out_w.reset();
  const int64_t timeout_ns = hc.timeout > 0 ? hc.timeout : kDefaultHealthTimeout;
  const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout_ns);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{out_r.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(out_r.get(), buf, sizeof buf);
    if (got <= 0) break;  // EOF: the check's output is closed
    if (r.output.size() < kHealthOutputMax)
      r.output.append(buf, std::min(static_cast<size_t>(got), kHealthOutputMax - r.output.size()));
  }
  int status = 0;
  if (timed_out) {
    // The exec relay passes SIGTERM on to the check's command; then SIGKILL.
    ::kill(probe, SIGTERM);
    for (int i = 0; i < 50 && ::waitpid(probe, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(probe, SIGKILL);
    ::waitpid(probe, &status, 0);
    r.exit_code = -1;
    r.output = "Health check exceeded timeout (" + std::to_string(timeout_ns / 1'000'000'000) + "s)";
  } else {
    ::waitpid(probe, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  r.end = now_rfc3339();
  return r;
}

[[noreturn]] void monitor_main(const std::filesystem::path& root, const std::string& id,
                               const Healthcheck& hc, pid_t container_pid) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "minictr-health");
  // Not the supervisor's status socket, pipes or pty: a copy held here would
  // keep the CLI or the log from ever seeing them close.
  ::close_range(3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) std::signal(s, SIG_DFL);
  try {
    Store store(root);
    const Config cfg = store.config(id);
    const auto started = Clock::now();
    const auto in_start_period = [&] {
      return Clock::now() - started < std::chrono::nanoseconds(hc.start_period);
    };
    for (;;) {
      // While it starts within its start period, Docker checks every start interval.
      int64_t wait = hc.interval > 0 ? hc.interval : kDefaultHealthInterval;
      if (in_start_period())
        wait = hc.start_interval > 0 ? hc.start_interval : std::min(wait, kDefaultHealthStartInterval);
      std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      State now = store.state(id);
      if (now.pid != container_pid || now.status != Status::kRunning) break;
      if (now.paused) continue;  // an exec into a frozen cgroup would hang
      const bool starting_period = in_start_period();
      HealthLogEntry result = run_check(store, id, hc);
      std::optional<HealthStatus> changed;
      {
        auto lock = store.lock(id);
        State s = store.state(id);
        if (s.pid != container_pid || !s.health) break;  // it exited meanwhile
        if (record_health_result(*s.health, hc, result, starting_period)) changed = s.health->status;
        store.save_state(id, s);
      }
      if (!changed) continue;
      // The rotation first: who sees the event finds the port following it.
      report_health_to_networks(store, cfg, *changed);
      emit_event(root, "health_status: " + std::string(to_string(*changed)), cfg);
    }
  } catch (const std::exception&) {
    // The container is being removed: nothing left to check.
  }
  ::_exit(0);
}

}  // namespace

pid_t start_health_monitor(const std::filesystem::path& root, const std::string& id, const Healthcheck& hc,
                           pid_t container_pid) {
  pid_t pid = check_sys(::fork(), "fork");
  if (pid == 0) monitor_main(root, id, hc, container_pid);
  return pid;
}

void stop_health_monitor(pid_t monitor) {
  if (monitor <= 0) return;
  ::kill(monitor, SIGKILL);
  while (::waitpid(monitor, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace mctr::container
