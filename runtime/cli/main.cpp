// minictr: a small, real container runtime. This file only wires the verbs.
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string_view>

#include "cli/explain_output.h"
#include "cli/runc.h"
#include "cli/verbs.h"
#include "container/supervisor.h"
#include "linux/security/self_exe.h"
#include "util/error.h"
#include "util/explain.h"
#include "util/listing.h"
#include "util/paths.h"

namespace mctr::cli {

std::filesystem::path Globals::root() const { return resolve_root(root_flag); }

constexpr const char* kVersion = "0.1.0";
// What `version` and `--version` print (a function: no string built at every start).
std::string version_line() { return std::string("minictr version ") + kVersion; }

void add_version(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("version", "Show the minictr version");
  auto format = std::make_shared<std::string>();
  sub->add_option("-f,--format", *format, "json or a Go template, e.g. '{{.Client.Version}}'");
  sub->callback([&g, format] {
    if (format->empty()) {
      std::cout << version_line() << "\n";
    } else {
      utsname u{};
      ::uname(&u);
      const std::string arch = std::string(u.machine) == "x86_64" ? "amd64" : u.machine;  // Go's GOARCH name
      const nlohmann::json v = {
          {"Client", {{"Version", kVersion}, {"Os", "linux"}, {"Arch", arch}, {"KernelVersion", u.release}}}};
      std::cout << mctr::listing::format_object(*format, v);
    }
    g.exit_code = 0;
  });
}

namespace {

using AddVerb = void (*)(CLI::App&, Globals&);
struct Verb {
  const char* name;
  AddVerb add;
};
constexpr Verb kVerbs[] = {
    {"version", add_version}, {"load", add_load},       {"images", add_images},   {"rmi", add_rmi},
    {"image", add_image},     {"run", add_run},         {"create", add_create},   {"start", add_start},
    {"ps", add_ps},           {"logs", add_logs},       {"stop", add_stop},       {"kill", add_kill},
    {"rm", add_rm},           {"inspect", add_inspect}, {"exec", add_exec},       {"cp", add_cp},
    {"volume", add_volume},   {"stats", add_stats},     {"update", add_update},   {"system", add_system},
    {"network", add_network}, {"wait", add_wait},       {"port", add_port},       {"top", add_top},
    {"rename", add_rename},   {"pause", add_pause},     {"unpause", add_unpause}, {"build", add_build},
    {"save", add_save},       {"tag", add_tag},         {"history", add_history}, {"commit", add_commit},
    {"events", add_events},   {"compose", add_compose}, {"push", add_push},       {"pull", add_pull},
    {"export", add_export},   {"import", add_import},   {"login", add_login},     {"logout", add_logout},
};

// The verb on the command line: the first argument that is not a global flag.
std::string_view verb_in(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--root" || a == "--explain-script") {
      ++i;
    } else if (a.rfind("--root=", 0) != 0 && a.rfind("--explain-script=", 0) != 0 && a != "--explain") {
      return a;
    }
  }
  return {};
}

// Only the verb being run is registered with CLI11: building all of them
// (~300 options) took 0.4 ms of every start. Without a known verb (--help,
// a typo) all are, so help and errors list every verb.
void register_verbs(CLI::App& app, Globals& g, int argc, char** argv) {
  std::string_view wanted = verb_in(argc, argv);
  for (const auto& v : kVerbs)
    if (wanted == v.name) return v.add(app, g);
  for (const auto& v : kVerbs) v.add(app, g);
}

bool is_verb(std::string_view name) {
  for (const auto& v : kVerbs)
    if (name == v.name) return true;
  return false;
}

// Before any parsing: an unknown verb is named (CLI11 would only say that
// one is required), and every verb but `version` needs root, which is said
// as such (a user's `ps` would print an empty list, `run` "No such image").
void check_verb(std::string_view verb, int argc, char** argv) {
  if (verb.empty() || verb[0] == '-') return;  // --help, --version: CLI11's
  if (!is_verb(verb))
    throw mctr::Error("'" + std::string(verb) + "' is not a minictr command (see 'minictr --help')");
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") return;
  if (verb != "version" && ::geteuid() != 0)
    throw mctr::Error("minictr " + std::string(verb) +
                      " needs root: containers are made with namespaces, mounts and cgroups only root may "
                      "create (run it as root, or with sudo)");
}

// The verbs that enter a container themselves (exec, and compose's exec)
// run from a read-only copy of this binary: a process in the container can
// see them before they execve (CVE-2019-5736, see self_exe.h). A container's
// init comes from its supervisor, which is exec'd from such a copy
// (container/supervisor.h).
void protect_binary_for(std::string_view verb, char** argv) {
  if (verb != "exec" && verb != "compose") return;
  if (::geteuid() != 0) return;  // `run --help` as a user: no container is started
  mctr::security::reexec_from_read_only_self(argv);
}

}  // namespace

}  // namespace mctr::cli

// main() itself: any exception that got this far (bad_alloc while the
// command line is set up, say) is one line and exit 125, never a crash.
static int run_minictr(int argc, char** argv);

// Called as minictr-runc (a link to this binary), or `minictr runc ...`:
// runc's command line, for the programs that drive runc.
static bool runc_command_line(int argc, char** argv) {
  std::string_view self = argv[0];
  if (auto slash = self.rfind('/'); slash != std::string_view::npos) self = self.substr(slash + 1);
  return self == "minictr-runc" || (argc > 1 && std::string_view(argv[1]) == "runc");
}

// A container's supervisor, started by the CLI (SupervisorHandle::spawn).
static bool supervisor_command_line(char** argv) { return std::string_view(argv[0]) == "minictr-shim"; }

int main(int argc, char** argv) {
  try {
    if (supervisor_command_line(argv)) mctr::container::supervisor_process_main(argc, argv);
    if (runc_command_line(argc, argv)) return mctr::cli::runc_main(argc, argv);
    return run_minictr(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    return mctr::kExitRuntimeError;
  }
}

static int run_minictr(int argc, char** argv) {
  using namespace mctr::cli;
  try {
    check_verb(verb_in(argc, argv), argc, argv);
    protect_binary_for(verb_in(argc, argv), argv);
  } catch (const mctr::Error& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    return mctr::kExitRuntimeError;
  }
  CLI::App app{"minictr: a small container runtime that shows what Docker does underneath"};
  app.require_subcommand(1);
  // As `docker --version`. Long form only: with fallthrough, a `-v` here would
  // answer for a verb that has no -v of its own (`rm -v x` would print this).
  app.set_version_flag("--version", version_line());
  app.fallthrough();
  Globals g;
  g.argv.assign(argv, argv + argc);
  app.add_option("--root", g.root_flag, "State directory (default /var/lib/minictr, or $MINICTR_ROOT)");
  app.add_flag("--explain", g.explain,
               "Print every kernel operation as a shell command you can replay (run, exec, stop, rm, ...)");
  app.add_option("--explain-script", g.explain_script,
                 "With run: write the steps as one bash script that makes the same container again");
  int records = -1;  // the read end of the --explain-script records
  app.parse_complete_callback([&g, &records] {
    // A copy of stderr above 2, close-on-exec: the container's init inherits
    // it for its own steps but never hands it to the user's command.
    if (g.explain) mctr::explain::enable(::fcntl(2, F_DUPFD_CLOEXEC, 3));
    if (!g.explain_script.empty()) records = mctr::cli::open_explain_records();
  });

  register_verbs(app, g, argc, argv);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "minictr: %s\nSee 'minictr --help'.\n", e.what());
    return mctr::kExitRuntimeError;
  } catch (const mctr::Error& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minictr: error: %s\n", e.what());
    return mctr::kExitRuntimeError;
  }
  if (records >= 0) {
    try {
      mctr::cli::write_explain_script(records, g);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "minictr: error: --explain-script: %s\n", e.what());
      if (g.exit_code == 0) g.exit_code = mctr::kExitRuntimeError;
    }
  }
  // Leave without destroying the CLI11 tree and the statics: nothing in them
  // does more than free memory, which exit does faster (one start's ~3%).
  std::cout.flush();
  std::fflush(nullptr);
  ::_exit(g.exit_code);
}
