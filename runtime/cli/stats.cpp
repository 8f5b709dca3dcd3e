// minictr stats [--no-stream] [--format table|json|TEMPLATE] [CONTAINER...]
// Docker's formulas: CPU % = Δcontainer_cpu / Δhost_cpu × online CPUs × 100;
// MEM USAGE = usage − inactive_file; NET I/O from the container's interfaces.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/format.h"
#include "cli/verbs.h"
#include "container/state.h"
#include "linux/cgroup/detect.h"
#include "linux/cgroup/host_stats.h"
#include "linux/cgroup/manager.h"
#include "linux/net/network.h"
#include "util/listing.h"

namespace mctr::cli {

namespace {

struct Sample {
  std::string id, name;
  bool running = false;
  pid_t pid = 0;
  bool netns = false;
  cgroup::Stats cg;
  net::Network::Counters net;
  uint64_t host_cpu_ns = 0;
};

// The containers to show, with their config and state read once per pass
// (each costs a JSON parse: 200 containers made two of each per row).
std::vector<Sample> pick(const container::Store& store, const std::vector<std::string>& refs, bool all) {
  std::vector<std::string> ids;
  for (const auto& r : refs) ids.push_back(store.resolve(r));
  if (refs.empty()) ids = store.ids();
  std::vector<Sample> out;
  for (const auto& id : ids) {
    Sample s;
    try {
      auto cfg = store.config(id);
      auto st = container::observed_state(store, id);
      s.name = cfg.name;
      s.running = st.status == container::Status::kRunning;
      s.pid = st.pid;
      s.netns = cfg.network_mode.kind != container::NetworkMode::Kind::kHost;
    } catch (const Error&) {
      continue;  // removed while we looked
    }
    if (!refs.empty() || all || s.running) {
      s.id = id;
      out.push_back(std::move(s));
    }
  }
  return out;
}

// The counters of a running container; `cpu_only` for the first sample,
// which serves only as the CPU % baseline.
void take_sample(Sample& s, const cgroup::HostLayout& layout, bool cpu_only) {
  if (!s.running) return;
  try {
    auto cg = cgroup::make_manager(s.id, layout);
    if (cpu_only) {
      s.cg.cpu_usage_ns = cg->cpu_usage_ns();
      return;
    }
    s.cg = cg->stats();
    if (s.netns) s.net = net::Network::counters(s.pid);
  } catch (const Error&) {
    s.running = false;  // it exited between the state read and the counters
  }
}

struct Row {
  Sample now;
  double cpu_percent = 0;
};

// One row: the fields of Docker's --format ({{.CPUPerc}} ...) and the raw numbers.
nlohmann::json stats_row(const Row& r) {
  const auto& c = r.now.cg;
  double mem_pct =
      c.memory_limit ? 100.0 * static_cast<double>(c.memory_usage) / static_cast<double>(c.memory_limit) : 0;
  char cpu[32], mem[32];
  std::snprintf(cpu, sizeof cpu, "%.2f%%", r.cpu_percent);
  std::snprintf(mem, sizeof mem, "%.2f%%", mem_pct);
  nlohmann::json j = {{"ID", r.now.id.substr(0, 12)},
                      {"Container", r.now.id},
                      {"Name", r.now.name},
                      {"CPUPerc", cpu},
                      {"MemUsage", binary_size(static_cast<double>(c.memory_usage)) + " / " +
                                       binary_size(static_cast<double>(c.memory_limit))},
                      {"MemPerc", mem},
                      {"NetIO", decimal_size(static_cast<double>(r.now.net.rx_bytes)) + " / " +
                                    decimal_size(static_cast<double>(r.now.net.tx_bytes))},
                      {"BlockIO", decimal_size(static_cast<double>(c.blk_read)) + " / " +
                                      decimal_size(static_cast<double>(c.blk_write))},
                      {"PIDs", std::to_string(c.pids_current)},
                      // The raw numbers, for scripts and tests:
                      {"CPUPercent", r.cpu_percent},
                      {"CPUUsageNs", c.cpu_usage_ns},
                      {"MemUsageBytes", c.memory_usage},
                      {"MemLimitBytes", c.memory_limit},
                      {"NetRxBytes", r.now.net.rx_bytes},
                      {"NetTxBytes", r.now.net.tx_bytes},
                      {"BlkReadBytes", c.blk_read},
                      {"BlkWriteBytes", c.blk_write},
                      {"PidsCurrent", c.pids_current}};
  return j;
}

// Docker's default table and the fields a template may name.
const listing::Table kStatsTable{
    {{"ID", "CONTAINER ID"},
     {"Container", "CONTAINER"},
     {"Name", "NAME"},
     {"CPUPerc", "CPU %"},
     {"MemUsage", "MEM USAGE / LIMIT"},
     {"MemPerc", "MEM %"},
     {"NetIO", "NET I/O"},
     {"BlockIO", "BLOCK I/O"},
     {"PIDs", "PIDS"},
     {"CPUPercent", "CPU PERCENT"},
     {"CPUUsageNs", "CPU USAGE NS"},
     {"MemUsageBytes", "MEM USAGE BYTES"},
     {"MemLimitBytes", "MEM LIMIT BYTES"},
     {"NetRxBytes", "NET RX BYTES"},
     {"NetTxBytes", "NET TX BYTES"},
     {"BlkReadBytes", "BLOCK READ BYTES"},
     {"BlkWriteBytes", "BLOCK WRITE BYTES"},
     {"PidsCurrent", "PIDS CURRENT"}},
    "table "
    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"};

}  // namespace

void add_stats(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("stats", "Display a live stream of container resource usage statistics");
  struct F {
    bool no_stream = false, all = false;
    std::string format = "table";
    std::vector<std::string> refs;
  };
  auto f = std::make_shared<F>();
  sub->add_flag("--no-stream", f->no_stream, "Print one sample and exit");
  sub->add_flag("-a,--all", f->all, "Show all containers (default shows just running)");
  sub->add_option("--format", f->format, "table (default), json, 'table TEMPLATE' or a Go TEMPLATE");
  sub->add_option("containers", f->refs, "Containers (default: all running)");
  sub->callback([&g, f] {
    listing::format_rows(f->format, kStatsTable, {});  // a bad template is refused before any sampling
    container::Store store(g.root());
    unsigned cpus = cgroup::online_cpus();
    std::map<std::string, Sample> prev;
    // One pass over the containers. The host's CPU time is read once per
    // pass, as Docker's collector does: the pass takes milliseconds, the
    // interval between two passes 0.5-1 s.
    auto sample_all = [&](bool cpu_only) {
      const cgroup::HostLayout layout = cgroup::detect_layout();
      const uint64_t host_cpu_ns = cgroup::host_cpu_usage_ns();
      std::vector<Row> rows;
      for (auto& s : pick(store, f->refs, f->all)) {
        s.host_cpu_ns = host_cpu_ns;
        take_sample(s, layout, cpu_only);
        Row r{std::move(s)};
        if (auto it = prev.find(r.now.id); it != prev.end() && r.now.running && it->second.running)
          r.cpu_percent = cgroup::cpu_percent(it->second.cg.cpu_usage_ns, r.now.cg.cpu_usage_ns,
                                              it->second.host_cpu_ns, r.now.host_cpu_ns, cpus);
        prev[r.now.id] = r.now;
        rows.push_back(std::move(r));
      }
      return rows;
    };
    // A first sample so CPU % has a previous point (Docker's precpu_stats).
    sample_all(true);
    for (bool first = true;; first = false) {
      std::this_thread::sleep_for(std::chrono::milliseconds(first ? 500 : 1000));
      auto rows = sample_all(false);
      std::vector<nlohmann::json> out;
      for (const auto& r : rows) out.push_back(stats_row(r));
      const bool redraw = !f->no_stream && ::isatty(1) && f->format.rfind("json", 0) != 0;
      if (redraw) std::cout << "\033[2J\033[H";  // redraw in place
      std::cout << listing::format_rows(f->format, kStatsTable, out);
      std::cout.flush();
      std::fflush(stdout);
      if (f->no_stream) break;
    }
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
