// The logs of a project's containers, interleaved as they come, each line
// prefixed with its container ("web-1  | "), as `compose up` and `compose logs` show them.
#include <algorithm>
#include <mutex>
#include <thread>

#include "compose/project.h"
#include "container/logfile.h"
#include "util/error.h"

namespace mctr::compose {

void print_logs(const std::filesystem::path& root, const std::vector<LogSource>& sources, bool follow,
                long tail, const std::atomic<bool>& stop, std::ostream& out) {
  const container::Store store(root);
  size_t width = 0;
  for (const auto& s : sources) width = std::max(width, s.prefix.size());
  std::mutex out_mutex;
  auto write = [&](const std::string& text) {
    const std::lock_guard<std::mutex> hold(out_mutex);
    out << text;
    out.flush();
  };
  std::vector<std::thread> threads;
  for (const auto& src : sources) {
    threads.emplace_back([&, src] {
      const std::string prefix = src.prefix + std::string(width - src.prefix.size(), ' ') + "  | ";
      auto running = [&] {
        if (stop) return false;
        try {
          return container::observed_state(store, src.id).status == container::Status::kRunning;
        } catch (const Error&) {
          return false;
        }
      };
      try {
        container::read_log(store.log_path(src.id), tail, follow, running, [&](const container::LogLine& l) {
          std::string line = prefix + l.text;
          if (line.back() != '\n') line += '\n';
          write(line);
        });
        if (follow && !stop) {
          const container::State st = container::observed_state(store, src.id);
          write(src.prefix + " exited with code " + std::to_string(st.exit_code) + "\n");
        }
      } catch (const std::exception& e) {
        write(src.prefix + ": " + e.what() + "\n");  // removed meanwhile (down in another shell)
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace mctr::compose
