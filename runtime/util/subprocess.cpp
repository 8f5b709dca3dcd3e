#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "util/error.h"
#include "util/fd.h"
#include "util/sigpipe.h"

extern char** environ;

namespace mctr {

namespace {

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  check_sys(::pipe2(fds, O_CLOEXEC), "pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Where argv[0] is: a path as given, else the first executable in $PATH,
// /usr/sbin or /sbin.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs = ::getenv("PATH") ? ::getenv("PATH") : "";
  dirs += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (end > start) {
      std::string candidate = dirs.substr(start, end - start) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  throw SysError("exec", name, ENOENT);
}

// Feed `input` to `in` and read `out`/`err` until both close, with poll():
// writing all input first could deadlock against a child that fills its
// stdout pipe before reading the rest of its stdin.
void pump(UniqueFd in, UniqueFd out, UniqueFd err, const std::string& input, ProcessResult& r) {
  size_t written = 0;
  if (input.empty()) in.reset();
  char buf[16384];
  while (out || err) {
    pollfd fds[3] = {{in ? in.get() : -1, POLLOUT, 0},
                     {out ? out.get() : -1, POLLIN, 0},
                     {err ? err.get() : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw_sys("poll", "child pipes");
    }
    if (in && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in.get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) in.reset();  // EPIPE: it stopped reading
      if (written == input.size()) in.reset();                     // EOF for the child
    }
    UniqueFd* sources[2] = {&out, &err};
    std::string* sinks[2] = {&r.out, &r.err};
    for (int i = 0; i < 2; ++i) {
      if (!*sources[i] || !(fds[i + 1].revents & (POLLIN | POLLERR | POLLHUP))) continue;
      ssize_t n = ::read(sources[i]->get(), buf, sizeof buf);
      if (n > 0)
        sinks[i]->append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        sources[i]->reset();
    }
  }
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
  const std::string path = find_program(argv.at(0));
  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
  // Our end of stdin non-blocking: a write then takes what fits in the pipe
  // instead of waiting for the child to read it all (while it waits for us to
  // read its output).
  check_sys(::fcntl(in.write.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)", "stdin pipe");
  // posix_spawn: the child's stdin/stdout/stderr become the pipes' far ends
  // (dup2 clears O_CLOEXEC on the copies; every other fd of ours stays closed).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw SysError("posix_spawn", path, rc);
  in.read.reset();
  out.write.reset();
  err.write.reset();

  ProcessResult result;
  SigpipeBlocked no_sigpipe;
  try {
    pump(std::move(in.write), std::move(out.read), std::move(err.read), input, result);
  } catch (...) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_sys("waitpid", path);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace mctr
