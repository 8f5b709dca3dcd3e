#include "cli/explain_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/explain.h"
#include "util/explain_script.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::cli {

int open_explain_records() {
  int p[2];
  check_sys(::pipe2(p, O_CLOEXEC), "pipe2", "--explain-script records");
  // Nobody reads before the run is over: room for a whole trace (a run
  // writes ~20 KiB). Above the host's pipe-max-size the default stays.
  (void)::fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  explain::enable_records(p[1]);
  return p[0];
}

static std::string read_until_every_writer_closed(int fd) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("read", "--explain-script records");
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

void write_explain_script(int records_fd, const Globals& g) {
  UniqueFd records(records_fd);
  ::close(explain::records_fd());  // ours: the supervisor's copy closes when it is done
  explain::enable_records(-1);
  const std::string text = read_until_every_writer_closed(records.get());
  if (g.explained_id.empty()) throw Error("only `run` makes a container that can be replayed");
  std::string command_line;
  for (size_t i = 1; i < g.argv.size(); ++i)
    command_line += (i > 1 ? " " : "minictr ") + explain::sh_quote(g.argv[i]);
  const std::string script =
      explain::render_script(explain::parse_records(text), {g.explained_id, command_line});
  fs::write_file_atomic(g.explain_script, script, 0755);
}

}  // namespace mctr::cli
