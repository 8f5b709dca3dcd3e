// minictr login [-u USER] [-p PASSWORD | --password-stdin] [--insecure] [SERVER]
// minictr logout [SERVER]
// As docker login/logout: the credentials are checked against the registry
// and stored for push and pull (runtime/registry/login.h, auth_file.h).
// Every failure exits 1, as Docker's.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <memory>

#include "cli/registry_helper.h"
#include "cli/verbs.h"
#include "util/error.h"

namespace mctr::cli {

namespace {

constexpr int kExitLoginFailed = 1;

struct LoginArgs {
  std::string server;
  std::string username;
  std::string password;
  bool password_stdin = false;
  bool insecure = false;
};

std::string read_line_from_tty(const char* prompt, bool echo) {
  std::cout << prompt << std::flush;
  termios saved{};
  bool restore = !echo && ::tcgetattr(0, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    ::tcsetattr(0, TCSAFLUSH, &saved);
    std::cout << "\n";
  }
  if (line.ends_with("\r")) line.pop_back();
  return line;
}

// The password from -p, stdin, or a prompt, as docker login decides.
std::string password_of(LoginArgs& a) {
  if (!a.password.empty() && a.password_stdin)
    throw Error("--password and --password-stdin are mutually exclusive", kExitLoginFailed);
  if (a.password_stdin) {
    std::string p((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    while (p.ends_with("\n") || p.ends_with("\r")) p.pop_back();
    return p;
  }
  if (!a.password.empty()) {
    std::cerr << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
    return a.password;
  }
  if (!::isatty(0))
    throw Error("Cannot perform an interactive login from a non TTY device", kExitLoginFailed);
  return read_line_from_tty("Password: ", false);
}

int login(const Globals& g, LoginArgs& a) {
  if (a.password_stdin && a.username.empty())
    throw Error("Must provide --username with --password-stdin", kExitLoginFailed);
  if (a.username.empty()) {
    if (!::isatty(0))
      throw Error("Cannot perform an interactive login from a non TTY device", kExitLoginFailed);
    a.username = read_line_from_tty("Username: ", true);
  }
  std::string password = password_of(a);
  if (password.empty()) throw Error("Error: Password Required", kExitLoginFailed);
  std::vector<std::string> args{"--username", a.username};
  if (a.insecure) args.push_back("--insecure");
  args.push_back(a.server);
  return run_registry_helper(g, "login", args, password);
}

}  // namespace

void add_login(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("login", "Log in to a registry (credentials checked, then stored)");
  auto a = std::make_shared<LoginArgs>();
  a->server = "docker.io";
  sub->add_option("server", a->server, "Registry (host[:port]); default docker.io");
  sub->add_option("-u,--username", a->username, "Username");
  sub->add_option("-p,--password", a->password, "Password (visible to other users: use --password-stdin)");
  sub->add_flag("--password-stdin", a->password_stdin, "Take the password from stdin");
  sub->add_flag("--insecure", a->insecure, "Allow plain http and unverified https (always so for localhost)");
  sub->callback([&g, a] { g.exit_code = login(g, *a); });
}

void add_logout(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("logout", "Remove a registry's stored credentials");
  auto server = std::make_shared<std::string>("docker.io");
  sub->add_option("server", *server, "Registry (host[:port]); default docker.io");
  sub->callback(
      [&g, server] { g.exit_code = run_registry_helper(g, "logout", std::vector<std::string>{*server}); });
}

}  // namespace mctr::cli
