// minictr compose [-f FILE] [-p NAME] up [-d] [--build] [--scale SVC=N] | down [-v] | ps | logs [-f] |
// start | stop | restart | exec SVC CMD | run SVC CMD | scale SVC=N | config
// Flags only: the model is runtime/compose/model.h, what acts on it runtime/compose/project.h.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <iostream>
#include <thread>

#include "cli/verbs.h"
#include "compose/project.h"
#include "container/exec.h"
#include "util/listing.h"

namespace mctr::cli {

namespace {

struct ComposeFlags {
  std::string file, project;
};

compose::Project load(const ComposeFlags& f) {
  compose::LoadOptions lo;
  lo.file = f.file;
  lo.project_name = f.project;
  compose::Project p = compose::load_project(lo);
  for (const auto& w : p.warnings) std::cerr << "WARN: " << w << "\n";
  return p;
}

compose::ComposeProject open_project(Globals& g, const ComposeFlags& f) {
  return compose::ComposeProject(g.root(), load(f), std::cerr);
}

// "SVC=N" -> (SVC, N).
std::pair<std::string, int> parse_scale(const std::string& spec) {
  const size_t eq = spec.find('=');
  try {
    if (eq != std::string::npos && eq > 0) {
      size_t used = 0;
      const int n = std::stoi(spec.substr(eq + 1), &used);
      if (used == spec.size() - eq - 1 && n >= 0) return {spec.substr(0, eq), n};
    }
  } catch (const std::logic_error&) {
  }
  throw Error("invalid scale \"" + spec + "\" (want SERVICE=REPLICAS)");
}

// `up` without -d: the logs of its containers until they all stop, or until
// SIGINT/SIGTERM, which stops them (as Compose: "Gracefully stopping...").
int follow_until_stopped(Globals& g, compose::ComposeProject& p,
                         const std::vector<compose::LogSource>& sources, int timeout_s) {
  std::string names;
  for (const auto& s : sources) names += (names.empty() ? "" : ", ") + s.prefix;
  std::cout << "Attaching to " << names << std::endl;
  // Blocked before the log threads exist, so they inherit the mask and only
  // this thread takes the signals (sigtimedwait below).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::atomic<bool> stop{false}, done{false};
  std::thread follower([&] {
    compose::print_logs(g.root(), sources, true, -1, stop, std::cout);
    done = true;
  });
  int rc = 0;
  while (!done) {
    const timespec tick{0, 200'000'000};
    if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
      std::cerr << "Gracefully stopping...\n";
      p.stop_sources(sources, timeout_s);
      rc = 130;  // as Compose after ^C
      break;
    }
  }
  follower.join();  // the containers have stopped: the follower drains their logs and ends
  return rc;
}

const listing::Table kComposePsTable{
    {{"ID", "CONTAINER ID"},
     {"Name", "NAME"},
     {"Image", "IMAGE"},
     {"Command", "COMMAND"},
     {"Service", "SERVICE"},
     {"Status", "STATUS"},
     {"Ports", "PORTS"}},
    "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.Status}}\t{{.Ports}}"};

void add_up(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  auto* sub = compose->add_subcommand("up", "Create and start the project's containers");
  struct F {
    bool detach = false, build = false;
    std::vector<std::string> scale, services;
    int timeout = 10;
  };
  auto u = std::make_shared<F>();
  sub->add_flag("-d,--detach", u->detach, "Run in the background");
  sub->add_flag("--build", u->build, "Build images before starting containers");
  sub->add_option("--scale", u->scale, "Scale SERVICE to NUM instances (SERVICE=NUM)")
      ->allow_extra_args(false);
  sub->add_option("-t,--timeout", u->timeout,
                  "Seconds to wait for a stop (Ctrl-C, a replica removed or recreated) before SIGKILL");
  sub->add_option("services", u->services, "Only these services (and their dependencies)");
  sub->callback([&g, &f, u] {
    auto p = open_project(g, f);
    compose::UpOptions o;
    o.build = u->build;
    o.services = u->services;
    for (const auto& s : u->scale) o.scale.insert(parse_scale(s));
    p.set_stop_timeout(u->timeout);
    const auto sources = p.up(o);
    g.exit_code = u->detach ? 0 : follow_until_stopped(g, p, sources, u->timeout);
  });
}

void add_down(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  auto* sub = compose->add_subcommand("down", "Stop and remove containers and networks");
  auto volumes = std::make_shared<bool>(false);
  auto timeout = std::make_shared<int>(10);
  sub->add_flag("-v,--volumes", *volumes, "Remove the named volumes of the volumes: section");
  sub->add_option("-t,--timeout", *timeout, "Seconds to wait for a stop before SIGKILL");
  sub->callback([&g, &f, volumes, timeout] {
    open_project(g, f).down(*volumes, *timeout);
    g.exit_code = 0;
  });
}

void add_ps(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  auto* sub = compose->add_subcommand("ps", "List the project's containers");
  struct F {
    bool all = false, quiet = false;
    std::string format;
  };
  auto o = std::make_shared<F>();
  sub->add_flag("-a,--all", o->all, "Also stopped containers");
  sub->add_flag("-q,--quiet", o->quiet, "Only IDs");
  sub->add_option("--format", o->format, "table (default), json, or a Go template");
  sub->callback([&g, &f, o] {
    auto p = open_project(g, f);
    std::vector<nlohmann::json> rows;
    for (const auto& r : p.ps(o->all)) {
      std::string command;
      for (const auto& a : r.command) command += (command.empty() ? "" : " ") + a;
      rows.push_back({{"ID", r.id.substr(0, 12)},
                      {"Name", r.name},
                      {"Image", r.image},
                      {"Command", "\"" + command + "\""},
                      {"Service", r.service},
                      {"Status", r.status},
                      {"Ports", r.ports}});
    }
    std::cout << listing::format_rows(o->quiet ? "{{.ID}}" : o->format, kComposePsTable, rows);
    g.exit_code = 0;
  });
}

void add_logs(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  auto* sub = compose->add_subcommand("logs", "Show the logs of the project's containers");
  struct F {
    bool follow = false;
    std::string tail = "all";
    std::vector<std::string> services;
  };
  auto o = std::make_shared<F>();
  sub->add_flag("-f,--follow", o->follow, "Follow log output");
  sub->add_option("-n,--tail", o->tail, "Lines from the end of each log (default all)");
  sub->add_option("services", o->services, "Only these services");
  sub->callback([&g, &f, o] {
    auto p = open_project(g, f);
    long tail = -1;
    if (o->tail != "all") {
      try {
        tail = std::stol(o->tail);
      } catch (const std::logic_error&) {
        throw Error("invalid --tail value: " + o->tail);
      }
    }
    std::vector<compose::LogSource> sources;
    for (const auto& s : p.log_sources())
      if (o->services.empty() ||
          std::find(o->services.begin(), o->services.end(), s.service) != o->services.end())
        sources.push_back(s);
    const std::atomic<bool> never{false};
    compose::print_logs(g.root(), sources, o->follow, tail, never, std::cout);
    g.exit_code = 0;
  });
}

void add_start_stop(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  compose->add_subcommand("start", "Start the project's stopped containers")->callback([&g, &f] {
    open_project(g, f).start();
    g.exit_code = 0;
  });
  for (const char* verb : {"stop", "restart"}) {
    auto* sub = compose->add_subcommand(
        verb, std::string(verb == std::string("stop") ? "Stop" : "Restart") + " the project's containers");
    auto timeout = std::make_shared<int>(10);
    sub->add_option("-t,--timeout", *timeout, "Seconds to wait for a stop before SIGKILL");
    const bool restart = verb == std::string("restart");
    sub->callback([&g, &f, timeout, restart] {
      auto p = open_project(g, f);
      if (restart) {
        p.restart(*timeout);
      } else {
        p.stop(*timeout);
      }
      g.exit_code = 0;
    });
  }
}

void add_exec_run(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  auto* exec = compose->add_subcommand("exec", "Run a command in a running service container");
  struct E {
    container::ExecOptions o;
    bool no_tty = false;
    int index = 1;
    std::string service;
  };
  auto e = std::make_shared<E>();
  exec->add_flag("-T,--no-TTY", e->no_tty, "Allocate no pseudo-TTY (the default when stdin is no terminal)");
  exec->add_flag("-d,--detach", e->o.detach, "Run the command in the background");
  exec->add_option("-e,--env", e->o.env, "Set environment variables")->allow_extra_args(false);
  exec->add_option("-w,--workdir", e->o.workdir, "Working directory inside the container");
  exec->add_option("-u,--user", e->o.user, "User (name|uid[:group|gid])");
  exec->add_option("--index", e->index, "Which replica (default 1)");
  exec->add_option("service", e->service, "Service")->required();
  exec->add_option("command", e->o.cmd, "Command and arguments")->required();
  exec->positionals_at_end();
  exec->callback([&g, &f, e] {
    auto p = open_project(g, f);
    const container::Store store(g.root());
    container::ExecOptions o = e->o;
    o.cmd = command_as_typed(o.cmd, g.argv);
    o.tty = !e->no_tty && ::isatty(0) && ::isatty(1);
    o.interactive = !o.detach;
    g.exit_code = container::exec_in_container(store, p.container_of(e->service, e->index), o);
  });

  auto* run = compose->add_subcommand("run", "Run a one-off command in a new container of a service");
  struct R {
    bool remove = false, detach = false, no_tty = false;
    std::string service;
    std::vector<std::string> cmd;
  };
  auto r = std::make_shared<R>();
  run->add_flag("--rm", r->remove, "Remove the container when it exits");
  run->add_flag("-d,--detach", r->detach, "Run in the background and print the container ID");
  run->add_flag("-T,--no-TTY", r->no_tty, "Allocate no pseudo-TTY");
  run->add_option("service", r->service, "Service")->required();
  run->add_option("command", r->cmd, "Command and arguments (default: the service's)");
  run->positionals_at_end();
  run->callback([&g, &f, r] {
    auto p = open_project(g, f);
    const bool tty = !r->no_tty && !r->detach && ::isatty(0) && ::isatty(1);
    const std::string id =
        p.create_oneoff(r->service, command_as_typed(r->cmd, g.argv), r->remove, tty, !r->detach);
    g.exit_code = start_and_follow(g.root(), id, !r->detach, tty, r->detach);
  });
}

void add_scale_config(CLI::App* compose, Globals& g, const ComposeFlags& f) {
  auto* scale = compose->add_subcommand("scale", "Set the number of replicas of services");
  auto specs = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int>(10);
  scale->add_option("SERVICE=REPLICAS", *specs, "e.g. web=3")->required();
  scale->add_option("-t,--timeout", *timeout, "Seconds to wait for a removed replica to stop before SIGKILL");
  scale->callback([&g, &f, specs, timeout] {
    auto p = open_project(g, f);
    p.set_stop_timeout(*timeout);
    for (const auto& s : *specs) {
      const auto [service, n] = parse_scale(s);
      p.scale(service, n);
    }
    g.exit_code = 0;
  });

  auto* config = compose->add_subcommand("config", "Print the resolved compose model (YAML)");
  auto services = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  config->add_flag("--services", *services, "Only the service names");
  config->add_flag("-q,--quiet", *quiet, "Only check the file");
  config->callback([&g, &f, services, quiet] {
    const compose::Project p = load(f);
    if (*services) {
      for (const auto& s : p.services) std::cout << s.name << "\n";
    } else if (!*quiet) {
      std::cout << compose::to_yaml(p);
    }
    g.exit_code = 0;
  });
}

}  // namespace

void add_compose(CLI::App& app, Globals& g) {
  auto* compose = app.add_subcommand("compose", "Run multi-container projects from a compose file");
  compose->require_subcommand(1);
  static ComposeFlags f;  // lives as long as the CLI11 tree
  compose->add_option("-f,--file", f.file, "Compose file (default compose.yaml, docker-compose.yml, ...)");
  compose->add_option("-p,--project-name", f.project, "Project name (default: the file's directory)");
  add_up(compose, g, f);
  add_down(compose, g, f);
  add_ps(compose, g, f);
  add_logs(compose, g, f);
  add_start_stop(compose, g, f);
  add_exec_run(compose, g, f);
  add_scale_config(compose, g, f);
}

}  // namespace mctr::cli
