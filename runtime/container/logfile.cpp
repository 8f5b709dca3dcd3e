#include "container/logfile.h"

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <thread>

#include "container/state.h"
#include "util/error.h"

namespace mctr::container {

LogWriter::LogWriter(std::filesystem::path path) : path_(std::move(path)) {}

void LogWriter::write_line(const std::string& stream, const std::string& line) {
  // Opened at the first line: a container that prints nothing has no log
  // file (one file less to create per start; `logs` reads none as empty).
  // O_APPEND: every write() lands at the end, whole, even with two writers.
  if (!fd_) fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return;  // like a full disk: the supervisor carries on
  nlohmann::json j = {{"log", line}, {"stream", stream}, {"time", now_rfc3339()}};
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  ssize_t n = ::write(fd_.get(), s.data(), s.size());
  (void)n;  // a full disk must not kill the container's supervisor
}

void LogWriter::write(const std::string& stream, const char* data, size_t n) {
  std::string& pending = stream == "stderr" ? pending_err_ : pending_out_;
  pending.append(data, n);
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
    write_line(stream, pending.substr(start, nl + 1 - start));
  pending.erase(0, start);
  // Docker splits very long lines at 16 KiB.
  if (pending.size() >= 16384) {
    write_line(stream, pending);
    pending.clear();
  }
}

void LogWriter::flush() {
  if (!pending_out_.empty()) write_line("stdout", pending_out_);
  if (!pending_err_.empty()) write_line("stderr", pending_err_);
  pending_out_.clear();
  pending_err_.clear();
}

static bool parse_line(const std::string& s, LogLine& out) {
  try {
    auto j = nlohmann::json::parse(s);
    out.stream = j.value("stream", "stdout");
    out.time = j.value("time", "");
    out.text = j.value("log", "");
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void read_log(const std::filesystem::path& path, long tail, bool follow,
              const std::function<bool()>& still_running, const std::function<void(const LogLine&)>& emit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT) throw_sys("open", path);
    if (!follow) return;
  }
  std::string buf;
  std::deque<LogLine> last;
  bool first_pass = true;
  auto drain = [&] {
    char chunk[65536];
    for (;;) {
      if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return;
      ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      LogLine l;
      if (!parse_line(buf.substr(start, nl - start), l)) continue;
      if (first_pass && tail >= 0) {
        last.push_back(l);
        if (static_cast<long>(last.size()) > tail) last.pop_front();
      } else {
        emit(l);
      }
    }
    buf.erase(0, start);
    if (first_pass) {
      for (const auto& l : last) emit(l);
      first_pass = false;
    }
  };
  drain();
  while (follow) {
    bool running = still_running();
    drain();
    if (!running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace mctr::container
