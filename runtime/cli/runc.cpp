// Only parsing: each verb calls one function of runtime/runc/.
#include "cli/runc.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "linux/security/self_exe.h"
#include "runc/create.h"
#include "runc/exec.h"
#include "runc/features.h"
#include "runc/kill_delete.h"
#include "runc/log.h"
#include "runc/ops.h"
#include "runc/start.h"
#include "runc/state_store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace mctr::cli {

namespace {

using runc::Store;

constexpr const char* kVersionText =
    "minictr-runc version 0.1.0\n"
    "spec: 1.2.0\n";

// One parsed command line: options by name (without dashes), then the
// positional arguments. As Go's flag package, which runc uses: options stop
// at the first positional argument (`exec ID sh -c x` keeps "-c" for sh),
// "--x=v", "--x v", "-x v" all work, and a boolean takes no value unless
// written "--x=false".
struct Parsed {
  std::map<std::string, std::vector<std::string>> opts;
  std::vector<std::string> args;
  bool has(const std::string& k) const {
    auto it = opts.find(k);
    return it != opts.end() && it->second.back() != "false";
  }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second.back();
  }
  std::vector<std::string> all(const std::string& k) const {
    auto it = opts.find(k);
    return it == opts.end() ? std::vector<std::string>{} : it->second;
  }
};

struct FlagSpec {
  std::set<std::string> bools;               // names (and short aliases) that take no value
  std::set<std::string> values;              // names that take one
  std::map<std::string, std::string> alias;  // short -> long
};

// Parse argv[i..] by `spec`; stops at the first positional when `stop_at_arg`.
size_t parse_flags(const std::vector<std::string>& argv, size_t i, const FlagSpec& spec, Parsed& out,
                   bool stop_at_arg, const std::string& verb) {
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (stop_at_arg) break;
      out.args.push_back(a);
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (auto al = spec.alias.find(name); al != spec.alias.end()) name = al->second;
    if (spec.bools.count(name)) {
      out.opts[name].push_back(value.value_or("true"));
    } else if (spec.values.count(name)) {
      if (!value) {
        if (i + 1 >= argv.size()) throw Error("flag needs an argument: " + a);
        value = argv[++i];
      }
      out.opts[name].push_back(*value);
    } else {
      throw Error((verb.empty() ? "" : verb + ": ") + "flag provided but not defined: " + a);
    }
  }
  return i;
}

const std::map<std::string, FlagSpec>& verb_flags() {
  static const std::map<std::string, FlagSpec> flags = {
      {"create",
       {{"no-pivot", "no-new-keyring"},
        {"bundle", "pid-file", "console-socket", "preserve-fds", "pidfd-socket"},
        {{"b", "bundle"}}}},
      {"run",
       {{"no-pivot", "no-new-keyring", "detach", "keep", "no-subreaper"},
        {"bundle", "pid-file", "console-socket", "preserve-fds", "pidfd-socket"},
        {{"b", "bundle"}, {"d", "detach"}}}},
      {"start", {}},
      {"state", {}},
      {"kill", {{"all"}, {}, {{"a", "all"}}}},
      {"delete", {{"force"}, {}, {{"f", "force"}}}},
      {"exec",
       {{"tty", "detach", "no-new-privs", "ignore-paused"},
        {"process", "pid-file", "console-socket", "cwd", "env", "user", "cap", "preserve-fds", "apparmor",
         "process-label", "additional-gids", "cgroup", "pidfd-socket"},
        {{"t", "tty"},
         {"d", "detach"},
         {"p", "process"},
         {"e", "env"},
         {"u", "user"},
         {"c", "cap"},
         {"g", "additional-gids"}}}},
      {"ps", {{}, {"format"}, {{"f", "format"}}}},
      {"pause", {}},
      {"resume", {}},
      {"update",
       {{},
        {"resources", "memory", "memory-swap", "memory-reservation", "cpu-quota", "cpu-period", "cpu-shares",
         "cpuset-cpus", "cpuset-mems", "pids-limit", "kernel-memory", "blkio-weight", "l3-cache-schema",
         "mem-bw-schema"},
        {{"r", "resources"}}}},
      {"features", {}},
      {"spec", {{"rootless"}, {"bundle"}, {{"b", "bundle"}}}},
      {"list", {{"quiet"}, {"format"}, {{"q", "quiet"}, {"f", "format"}}}},
  };
  return flags;
}

std::string one_id(const Parsed& p, const std::string& verb) {
  if (p.args.empty()) throw Error("\"" + verb + "\" requires a container id");
  return p.args[0];
}

std::string read_stdin() {
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(0, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

// `update` without --resources: runc's flags as a linux.resources object.
nlohmann::json resources_from_flags(const Parsed& p) {
  nlohmann::json r = nlohmann::json::object();
  auto num = [&](const char* flag) { return std::stoll(p.get(flag)); };
  if (p.opts.count("memory")) r["memory"]["limit"] = num("memory");
  if (p.opts.count("memory-swap")) r["memory"]["swap"] = num("memory-swap");
  if (p.opts.count("memory-reservation")) r["memory"]["reservation"] = num("memory-reservation");
  if (p.opts.count("cpu-quota")) r["cpu"]["quota"] = num("cpu-quota");
  if (p.opts.count("cpu-period")) r["cpu"]["period"] = num("cpu-period");
  if (p.opts.count("cpu-shares")) r["cpu"]["shares"] = num("cpu-shares");
  if (p.opts.count("cpuset-cpus")) r["cpu"]["cpus"] = p.get("cpuset-cpus");
  if (p.opts.count("cpuset-mems")) r["cpu"]["mems"] = p.get("cpuset-mems");
  if (p.opts.count("pids-limit")) r["pids"]["limit"] = num("pids-limit");
  return r;
}

void print_list(const Store& store, const Parsed& p) {
  const std::string format = p.get("format", "table");
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& id : store.ids()) {
    try {
      auto s = store.load(id);
      auto st = runc::current_status(store, s);
      auto j = runc::state_json(s, st);
      out.push_back(j);
      rows.push_back({id, std::to_string(j["pid"].get<int>()), j["status"], s.bundle, s.created, j["owner"]});
    } catch (const Error&) {
      // One being created or deleted right now: not listed.
    }
  }
  if (p.has("quiet")) {
    for (const auto& r : rows) std::cout << r[0] << "\n";
  } else if (format == "json") {
    std::cout << (out.empty() ? std::string("null") : out.dump()) << "\n";
  } else {
    std::printf("%-12s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (const auto& r : rows)
      std::printf("%-12s %-8s %-10s %-40s %-32s %s\n", r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].c_str(),
                  r[4].c_str(), r[5].c_str());
  }
}

void print_ps(const Store& store, const std::string& id, const std::string& format,
              const std::vector<std::string>& ps_args) {
  auto pids = runc::container_pids(store, id);
  if (format == "json") {
    std::cout << nlohmann::json(pids).dump() << "\n";
    return;
  }
  if (format != "table") throw Error("invalid format option");
  std::vector<std::string> argv = {"ps"};
  if (ps_args.empty())
    argv.push_back("-ef");
  else
    argv.insert(argv.end(), ps_args.begin(), ps_args.end());
  ProcessResult r = run_process(argv);
  if (r.status != 0) throw Error("ps: " + r.err);
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  std::cout << line << "\n";
  // The PID column: where the header says PID.
  std::istringstream h(line);
  int pid_col = -1, col = 0;
  for (std::string w; h >> w; ++col)
    if (w == "PID") pid_col = col;
  if (pid_col < 0) throw Error("ps: no PID column in its output");
  std::set<pid_t> want(pids.begin(), pids.end());
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string w;
    for (int c = 0; c <= pid_col && f >> w; ++c) {
    }
    if (!w.empty() && std::all_of(w.begin(), w.end(), ::isdigit) && want.count(std::stoi(w)))
      std::cout << line << "\n";
  }
}

runc::CreateOptions create_options(const Parsed& p, const std::string& verb, bool systemd) {
  runc::CreateOptions o;
  o.id = one_id(p, verb);
  o.bundle = p.get("bundle", ".");
  o.pid_file = p.get("pid-file");
  o.console_socket = p.get("console-socket");
  o.no_pivot = p.has("no-pivot");
  o.no_new_keyring = p.has("no-new-keyring");
  o.systemd_cgroup = systemd;
  return o;
}

// `run` in the foreground: the init is our child; wait for it, then delete.
int run_foreground(const Store& store, const runc::CreateOptions& o, bool keep) {
  // Orphans of the container (its pid 1 leaves children when it is in our
  // PID namespace) come to us, not to init.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  pid_t pid = runc::create_container(store, o);
  try {
    runc::start_container(store, o.id);
  } catch (const Error&) {
    runc::delete_container(store, o.id, true);
    throw;
  }
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!keep) runc::delete_container(store, o.id, true);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int dispatch(const std::string& verb, const Parsed& p, const Store& store, bool systemd) {
  if (verb == "create") {
    runc::create_container(store, create_options(p, verb, systemd));
  } else if (verb == "run") {
    auto o = create_options(p, verb, systemd);
    if (!p.has("detach")) return run_foreground(store, o, p.has("keep"));
    runc::create_container(store, o);
    runc::start_container(store, o.id);
  } else if (verb == "start") {
    runc::start_container(store, one_id(p, verb));
  } else if (verb == "state") {
    auto s = store.load(one_id(p, verb));
    std::cout << runc::state_json(s, runc::current_status(store, s)).dump(2) << "\n";
  } else if (verb == "kill") {
    runc::kill_container(store, one_id(p, verb), p.args.size() > 1 ? p.args[1] : "SIGTERM", p.has("all"));
  } else if (verb == "delete") {
    const std::string id = one_id(p, verb);
    // runc: deleting what is not there is an error, except with --force.
    if (p.has("force") && !store.exists(id)) return 0;
    runc::delete_container(store, id, p.has("force"));
  } else if (verb == "exec") {
    runc::ExecOptions o;
    o.id = one_id(p, verb);
    o.args.assign(p.args.begin() + 1, p.args.end());
    o.process_file = p.get("process");
    o.env = p.all("env");
    o.cwd = p.get("cwd");
    o.user = p.get("user");
    o.caps = p.all("cap");
    o.tty = p.has("tty");
    o.detach = p.has("detach");
    o.no_new_privs = p.has("no-new-privs");
    o.pid_file = p.get("pid-file");
    o.console_socket = p.get("console-socket");
    o.preserve_fds = std::stoi(p.get("preserve-fds", "0"));
    return runc::exec_in_container(store, o);
  } else if (verb == "ps") {
    print_ps(store, one_id(p, verb), p.get("format", "table"),
             std::vector<std::string>(p.args.begin() + 1, p.args.end()));
  } else if (verb == "pause") {
    runc::pause_container(store, one_id(p, verb));
  } else if (verb == "resume") {
    runc::resume_container(store, one_id(p, verb));
  } else if (verb == "update") {
    std::string r = p.get("resources");
    std::string json = r.empty()  ? resources_from_flags(p).dump()
                       : r == "-" ? read_stdin()
                                  : fs::read_file(r);
    runc::update_container(store, one_id(p, verb), json);
  } else if (verb == "features") {
    std::cout << runc::features_json().dump(4) << "\n";
  } else if (verb == "spec") {
    if (p.has("rootless")) throw Error("spec --rootless: rootless containers are not supported by minictr");
    auto path = std::filesystem::path(p.get("bundle", ".")) / "config.json";
    if (std::filesystem::exists(path)) throw Error("File " + path.string() + " exists. Remove it first");
    fs::write_file_atomic(path, runc::default_spec().dump(1, '\t') + "\n", 0666, false);
  } else if (verb == "list") {
    print_list(store, p);
  } else {
    throw Error("No help topic for '" + verb + "'");
  }
  return 0;
}

constexpr const char* kUsage =
    "usage: minictr-runc [global options] command [command options] [arguments...]\n"
    "\n"
    "The runc command line of minictr (for containerd, podman/conmon, CRI-O).\n"
    "\n"
    "commands: create start state kill delete exec ps pause resume update run list spec features\n"
    "global options: --root DIR (default /run/minictr-runc) --log FILE --log-format text|json\n"
    "                --systemd-cgroup --debug --version\n";

}  // namespace

int runc_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "runc") args.erase(args.begin());  // `minictr runc ...`
  try {
    FlagSpec global{{"systemd-cgroup", "debug", "version", "help"},
                    {"root", "log", "log-format", "criu", "rootless"},
                    {{"v", "version"}, {"h", "help"}}};
    Parsed g;
    size_t i = parse_flags(args, 0, global, g, true, "");
    runc::configure_log(g.get("log"), g.get("log-format", "text") == "json", g.has("debug"));
    if (g.has("version")) {
      std::cout << kVersionText;
      return 0;
    }
    if (g.has("help") || i >= args.size()) {
      std::cout << kUsage;
      return g.has("help") ? 0 : 1;
    }
    if (g.opts.count("rootless") && g.get("rootless") == "true")
      throw Error("--rootless: rootless containers are not supported by minictr");
    const std::string verb = args[i];
    auto spec = verb_flags().find(verb);
    if (spec == verb_flags().end()) throw Error("No help topic for '" + verb + "'");
    Parsed p;
    // What follows the options: the id and the rest, never parsed as flags.
    size_t rest = parse_flags(args, i + 1, spec->second, p, true, verb);
    p.args.assign(args.begin() + static_cast<long>(rest), args.end());
    // Flags after the id (`kill ID --all` is not runc's, but `delete ID --force` is common).
    if (verb != "exec" && verb != "ps") {
      Parsed tail;
      parse_flags(p.args, 1, spec->second, tail, false, verb);
      for (auto& [k, v] : tail.opts) p.opts[k].insert(p.opts[k].end(), v.begin(), v.end());
      if (!p.args.empty()) tail.args.insert(tail.args.begin(), p.args[0]);
      p.args = tail.args;
    }
    if (verb != "spec" && verb != "features" && ::geteuid() != 0)
      throw Error("minictr-runc " + verb + " needs root");
    // What starts a process in the container runs from a read-only copy of
    // this binary (CVE-2019-5736, see self_exe.h).
    if (verb == "create" || verb == "run" || verb == "exec") security::reexec_from_read_only_self(argv);
    Store store(g.get("root", "/run/minictr-runc"));
    return dispatch(verb, p, store, g.has("systemd-cgroup"));
  } catch (const Error& e) {
    runc::log_error(e.what());
    return 1;
  } catch (const std::exception& e) {
    runc::log_error(e.what());
    return 1;
  }
}

}  // namespace mctr::cli
