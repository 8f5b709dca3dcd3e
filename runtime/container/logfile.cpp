#include "container/logfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <thread>

#include "container/resource_flags.h"
#include "container/state.h"
#include "util/error.h"

namespace mctr::container {

namespace fs = std::filesystem;

static bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int64_t parse_log_size(const std::string& s) {
  if (s == "-1") return -1;
  // Decimal units, as Docker's json-file reads them (units.FromHumanSize,
  // not the RAMInBytes of -m): 10k = 10000 bytes.
  int64_t bytes;
  try {
    bytes = parse_size(s, 1000);
  } catch (const Error& e) {
    std::string why = e.what();  // "invalid size: '...'[: too large]"
    throw Error("invalid max-size" + why.substr(why.find(':')));
  }
  if (bytes < 1) throw Error("max-size must be a positive number (or -1 for no limit)");
  return bytes;
}

LogOptions parse_log_config(const std::map<std::string, std::string>& config) {
  LogOptions o;
  for (const auto& [key, value] : config) {
    if (key == "max-size") {
      o.max_size = parse_log_size(value);
    } else if (key == "max-file") {
      if (!all_digits(value) || value.size() > 6)
        throw Error("invalid max-file: '" + value.substr(0, 64) + "'");
      o.max_file = std::stoi(value);
      if (o.max_file < 1) throw Error("max-file cannot be less than 1");
    } else {
      throw Error("unknown log opt '" + key + "' for json-file log driver");
    }
  }
  // Docker ignores such a max-file silently; here it is a mistake said once.
  if (config.count("max-file") && o.max_size < 0) throw Error("max-file cannot be set without max-size");
  return o;
}

std::map<std::string, std::string> log_config_from_flags(const std::vector<std::string>& flags) {
  std::map<std::string, std::string> config;
  for (const auto& f : flags) {
    auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("invalid --log-opt '" + f + "': expected KEY=VALUE");
    config[f.substr(0, eq)] = f.substr(eq + 1);
  }
  if (config.empty()) config = {{"max-size", kDefaultLogMaxSize}, {"max-file", kDefaultLogMaxFile}};
  parse_log_config(config);  // refuse bad values at create, not at the first line
  return config;
}

LogOptions log_options_of(const std::map<std::string, std::string>& config) noexcept {
  try {
    return parse_log_config(config);
  } catch (const std::exception&) {
    try {
      return parse_log_config({{"max-size", kDefaultLogMaxSize}, {"max-file", kDefaultLogMaxFile}});
    } catch (const std::exception&) {
      return {};
    }
  }
}

fs::path rotated_log(const fs::path& log, int n) {
  fs::path p = log;
  p += "." + std::to_string(n);
  return p;
}

// ---- writing ----

LogWriter::LogWriter(fs::path path, LogOptions opts) : path_(std::move(path)), opts_(opts) {}

// The bytes nlohmann would dump for {"log":..,"stream":..,"time":..} (its
// keys are sorted: Docker's order too), without building an object per line.
static std::string encode(const std::string& stream, const std::string& line, const std::string& time) {
  std::string s = "{\"log\":";
  s += nlohmann::json(line).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s += ",\"stream\":\"";
  s += stream;
  s += "\",\"time\":\"";
  s += time;
  s += "\"}\n";
  return s;
}

void LogWriter::add_line(const std::string& stream, const std::string& line, const std::string& time) {
  // Opened at the first line: a container that prints nothing has no log
  // file (one file less to create per start; `logs` reads none as empty).
  // O_APPEND: every write() lands at the end, whole, even with two writers.
  if (!fd_) {
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    struct stat st;
    size_ = fd_ && ::fstat(fd_.get(), &st) == 0 ? st.st_size : 0;  // a restarted container appends
  }
  std::string s = encode(stream, line, time);
  // Rotate before a line would take the file past max-size, so every file
  // stays within it (only a single line longer than max-size is alone above).
  off_t would_be = size_ + static_cast<off_t>(batch_.size());
  if (opts_.max_size > 0 && would_be > 0 && would_be + static_cast<off_t>(s.size()) > opts_.max_size) {
    commit();
    rotate();
  }
  batch_ += s;
}

void LogWriter::commit() {
  if (batch_.empty()) return;
  if (fd_) {
    ssize_t n = ::write(fd_.get(), batch_.data(), batch_.size());
    if (n > 0) size_ += n;  // a full disk must not kill the container's supervisor
  }
  batch_.clear();
}

// Docker's order: drop the oldest, shift .1 -> .2 ..., the current file ->
// .1, then a new current file. With max-file=1 the current file is dropped.
// A reader holding a file open keeps reading it; `logs -f` notices the new
// inode at the current name and moves on.
void LogWriter::rotate() {
  fd_.reset();
  if (opts_.max_file > 1) {
    for (int i = opts_.max_file - 1; i >= 2; --i)
      ::rename(rotated_log(path_, i - 1).c_str(), rotated_log(path_, i).c_str());
    ::rename(path_.c_str(), rotated_log(path_, 1).c_str());
  } else {
    ::unlink(path_.c_str());
  }
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  size_ = 0;
}

void LogWriter::write(const std::string& stream, const char* data, size_t n) {
  std::string& pending = stream == "stderr" ? pending_err_ : pending_out_;
  pending.append(data, n);
  // One timestamp per read: these lines arrived together (and formatting a
  // time per line cost more than the rest of the line).
  std::string time;
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (time.empty()) time = now_rfc3339();
    add_line(stream, pending.substr(start, nl + 1 - start), time);
  }
  pending.erase(0, start);
  // Docker splits very long lines at 16 KiB.
  if (pending.size() >= 16384) {
    if (time.empty()) time = now_rfc3339();
    add_line(stream, pending, time);
    pending.clear();
  }
  commit();
}

void LogWriter::flush() {
  std::string time = now_rfc3339();
  if (!pending_out_.empty()) add_line("stdout", pending_out_, time);
  if (!pending_err_.empty()) add_line("stderr", pending_err_, time);
  pending_out_.clear();
  pending_err_.clear();
  commit();
}

// ---- reading ----

namespace {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

struct OpenLog {
  UniqueFd fd;
  FileId id;
};

FileId id_of(int fd) {
  struct stat st;
  check_sys(::fstat(fd, &st), "fstat");
  return {st.st_dev, st.st_ino};
}

// The highest N of the <log>.N files present.
int max_rotated(const fs::path& path) {
  int max = 0;
  const std::string prefix = path.filename().string() + ".";
  std::error_code ec;
  for (fs::directory_iterator it(path.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string num = name.substr(prefix.size());
    if (all_digits(num) && num.size() <= 6) max = std::max(max, std::stoi(num));
  }
  return max;
}

// The file at `path` now, if any.
std::optional<FileId> id_at(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The current log, then the rotated ones newest first, up to (not with) the
// file `stop`. Opened in that order so that one rotation between two opens
// shows a file twice (skipped by its inode) rather than hiding one. Sets
// `at_path` to the file the current name had when it was opened.
std::vector<OpenLog> scan_newest_first(const fs::path& path, const std::optional<FileId>& stop,
                                       std::optional<FileId>& at_path) {
  std::vector<OpenLog> out;
  auto add = [&](const fs::path& p) {  // false: reached `stop`
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno != ENOENT) throw_sys("open", p);
      return true;  // a gap while the writer renames
    }
    FileId id = id_of(fd.get());
    if (p == path) at_path = id;
    if (stop && id == *stop) return false;
    for (const auto& o : out)
      if (o.id == id) return true;
    out.push_back({std::move(fd), id});
    return true;
  };
  at_path.reset();
  if (!add(path)) return out;
  int max = max_rotated(path);
  for (int i = 1; i <= max + 1; ++i)
    if (!add(rotated_log(path, i))) break;
  return out;
}

// Two rotations between two opens move a newer file to the name we open
// next, and we would read it before an older one (and again next time). So
// scan again until the current name kept its file the whole scan: no
// rotation happened. Its inode cannot come back as a new file meanwhile, as
// we hold that file open. A writer that died between its rename and its
// create leaves no current name: after a while take the scan as it is (no
// file at all is steady: a container that printed nothing has no log).
std::vector<OpenLog> open_newest_first(const fs::path& path, const std::optional<FileId>& stop) {
  for (int attempt = 0;; ++attempt) {
    std::optional<FileId> at_path;
    auto files = scan_newest_first(path, stop, at_path);
    bool steady = at_path == id_at(path) && (at_path || files.empty());
    if (steady || attempt == 100) return files;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool parse_line(std::string_view s, LogLine& out) {
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

// Lines in, LogLines out; holds the last `tail` back until the files that
// existed at the start are read.
class LineReader {
 public:
  LineReader(long tail, const std::function<void(const LogLine&)>& emit) : tail_(tail), emit_(emit) {}

  // Everything up to the end of fd; a partial last line waits for the rest.
  void drain(int fd) {
    char chunk[65536];
    for (ssize_t n; (n = ::read(fd, chunk, sizeof chunk)) > 0;) {
      buf_.append(chunk, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1)
        line(std::string_view(buf_).substr(start, nl - start));
      buf_.erase(0, start);
    }
  }
  // The writer writes whole lines and renames only after: what is left at
  // the end of a finished file is a torn line, not the start of the next one.
  void end_file() { buf_.clear(); }
  void end_snapshot() {
    for (const auto& l : last_) emit_(l);
    last_.clear();
    tail_ = -1;
  }

 private:
  void line(std::string_view s) {
    LogLine l;
    if (!parse_line(s, l)) return;
    if (tail_ < 0) return emit_(l);
    last_.push_back(std::move(l));
    if (static_cast<long>(last_.size()) > tail_) last_.pop_front();
  }
  long tail_;
  const std::function<void(const LogLine&)>& emit_;
  std::string buf_;
  std::deque<LogLine> last_;
};

// Read the files newer than `cur` (all with none), oldest first; the newest
// becomes `cur`, still open to follow.
void read_newer(const fs::path& path, std::optional<OpenLog>& cur, LineReader& reader) {
  std::optional<FileId> stop;
  if (cur) stop = cur->id;
  auto files = open_newest_first(path, stop);
  if (files.empty()) return;
  if (cur) reader.end_file();
  for (size_t i = files.size(); i-- > 1;) {
    reader.drain(files[i].fd.get());
    reader.end_file();
  }
  cur = std::move(files[0]);
  reader.drain(cur->fd.get());
}

// The current name now has another file than the one we follow (or has one
// at last): the writer rotated.
bool rotated_away(const fs::path& path, const std::optional<OpenLog>& cur) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;  // between rename and create: next time
  return !cur || !(FileId{st.st_dev, st.st_ino} == cur->id);
}

}  // namespace

void read_log(const fs::path& path, long tail, bool follow, const std::function<bool()>& still_running,
              const std::function<void(const LogLine&)>& emit) {
  LineReader reader(tail, emit);
  std::optional<OpenLog> cur;
  read_newer(path, cur, reader);
  reader.end_snapshot();
  while (follow) {
    bool running = still_running();
    if (cur) reader.drain(cur->fd.get());
    if (rotated_away(path, cur)) {
      // The writer finished this file before renaming it: read its end now.
      if (cur) reader.drain(cur->fd.get());
      read_newer(path, cur, reader);
    }
    if (!running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace mctr::container
