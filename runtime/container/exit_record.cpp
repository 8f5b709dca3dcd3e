#include "container/exit_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "util/error.h"
#include "util/fs.h"

namespace mctr::container {

namespace {

// Every record is exactly this long (space-padded), so a write never grows
// the file past the blocks reserved for it.
constexpr size_t kRecordSize = 128;

void write_record(int fd, const std::string& text, const std::filesystem::path& path) {
  std::string rec = text;
  rec.resize(kRecordSize - 1, ' ');
  rec += '\n';
  if (::pwrite(fd, rec.data(), rec.size(), 0) != static_cast<ssize_t>(rec.size())) throw_sys("pwrite", path);
}

}  // namespace

ExitRecord ExitRecord::reserve(const std::filesystem::path& dir) {
  const auto path = dir / "exit";
  UniqueFd fd(check_sys(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), "open", path));
  // Allocated now, while there is space; overwriting allocated blocks later
  // needs none (the filesystem may be full by then).
  if (int err = ::posix_fallocate(fd.get(), 0, kRecordSize); err != 0) {
    errno = err;
    throw_sys("posix_fallocate", path);
  }
  write_record(fd.get(), "running", path);
  return ExitRecord(std::move(fd));
}

void ExitRecord::write(int exit_code, bool oom_killed, const std::string& finished_at) {
  write_record(fd_.get(),
               "exited " + std::to_string(exit_code) + " " + (oom_killed ? "oom" : "-") + " " + finished_at,
               "exit record");
}

std::optional<ExitRecord::Exit> ExitRecord::read(const std::filesystem::path& dir) {
  auto text = fs::read_file_if_exists(dir / "exit");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string word, oom;
  Exit e;
  if (!(in >> word) || word != "exited") return std::nullopt;
  if (!(in >> e.exit_code >> oom >> e.finished_at)) return std::nullopt;
  e.oom_killed = oom == "oom";
  return e;
}

}  // namespace mctr::container
