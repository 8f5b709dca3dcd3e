#include "build/builder.h"

#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <set>

#include "build/cache.h"
#include "build/context.h"
#include "build/copy_step.h"
#include "build/dockerfile.h"
#include "build/image_config.h"
#include "build/layer_tar.h"
#include "build/run_step.h"
#include "container/lifecycle.h"
#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::build {

namespace sfs = std::filesystem;

namespace {

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What a stage knows while its instructions run.
// (clang-tidy 14 flags the implicit noexcept members of a struct holding
// nlohmann::json; nothing here throws.)
struct StageState {  // NOLINT(bugprone-exception-escape)
  int index = 0;
  std::string label;  // "[b 2/5]" of the instruction running
  json cfg;
  std::map<std::string, std::string> args;  // ARGs declared in the stage (with a value)
  bool cmd_set = false;                     // CMD given in this stage (ENTRYPOINT keeps it then)
};

class Builder {
 public:
  Builder(const sfs::path& root, const BuildOptions& o, std::ostream& out)
      : root_(sfs::absolute(root)),
        o_(o),
        out_(out),
        images_(root_),
        cache_(root_),
        ctx_(sfs::absolute(o.context)) {
    sfs::path file = o.dockerfile.empty() ? o.context / "Dockerfile" : o.dockerfile;
    auto text = fs::read_file_if_exists(file);
    if (!text)
      throw Error("failed to read the Dockerfile: open " + file.string() + ": no such file or directory");
    df_ = parse_dockerfile(*text, file.filename().string());
    StorePaths p{root};
    fs::mkdir_p(p.root, 0700);
    make_private_dir(p.root);
    fs::mkdir_p(p.tmp(), 0700);
    // "<kind>.<pid>": the store removes it if we die (Store::clean_stale_tmp).
    work_ = p.tmp() / ("build." + std::to_string(::getpid()));
    fs::remove_tree(work_);
    fs::mkdir_p(work_, 0700);
    global_args();
  }
  ~Builder() {
    try {
      fs::remove_tree(work_);
    } catch (...) {
    }
  }

  BuildResult run() {
    const Stage* target = o_.target.empty() ? &df_.stages.back() : df_.find_stage(o_.target);
    if (!target) throw Error("failed to build: target stage \"" + o_.target + "\" could not be found");
    json cfg = build_stage(target->index);
    for (const auto& [k, v] : o_.build_args)
      if (!consumed_.count(k)) out_ << "[Warning] One or more build-args [" << k << "] were not consumed\n";
    std::string config = cfg.dump();
    image::Image img = images_.add_image(config, o_.tags);
    int n = ++step_;
    out_ << "#" << n << " writing image " << img.id << "\n";
    for (const auto& t : img.repo_tags) out_ << "#" << n << " naming to " << t << "\n";
    result_.image_id = img.id;
    return result_;
  }

 private:
  // ------------------------------------------------------------- stages --

  void global_args() {
    for (const auto& in : df_.global_args) {
      auto lookup = [&](const std::string& k) -> std::optional<std::string> {
        auto it = globals_.find(k);
        if (it == globals_.end()) return std::nullopt;
        return it->second;
      };
      for (const auto& w : words(in, lookup)) {
        size_t eq = w.find('=');
        std::string name = w.substr(0, eq);
        if (auto it = o_.build_args.find(name); it != o_.build_args.end()) {
          globals_[name] = it->second;
          consumed_.insert(name);
        } else if (eq != std::string::npos) {
          globals_[name] = w.substr(eq + 1);
        }
      }
    }
  }

  json build_stage(int index) {
    if (auto it = done_.find(index); it != done_.end()) return it->second;
    if (!building_.insert(index).second) throw Error("circular dependency between build stages");
    const Stage& st = df_.stages[static_cast<size_t>(index)];
    StageState s;
    s.index = index;
    s.cfg = stage_base(st);
    size_t total = st.instructions.size() + 1;
    for (size_t i = 0; i < st.instructions.size(); ++i) {
      const Instruction& in = st.instructions[i];
      s.label = "[" + (st.name.empty() ? "stage-" + std::to_string(st.index) : st.name) + " " +
                std::to_string(i + 2) + "/" + std::to_string(total) + "]";
      try {
        execute(s, in);
      } catch (const Error& e) {
        std::string msg = e.what();
        if (msg.starts_with(df_.filename + ":")) throw;
        throw Error(df_.filename + ":" + std::to_string(in.line) + ": " + in.keyword + ": " + msg,
                    e.exit_code());
      }
    }
    building_.erase(index);
    done_[index] = s.cfg;
    return s.cfg;
  }

  json stage_base(const Stage& st) {
    auto lookup = [&](const std::string& k) -> std::optional<std::string> {
      auto it = globals_.find(k);
      if (it == globals_.end()) return std::nullopt;
      return it->second;
    };
    std::string base;
    try {
      base = expand_word(st.base, df_.escape, lookup);
    } catch (const Error& e) {
      throw Error(df_.filename + ":" + std::to_string(st.line) + ": FROM: " + e.what());
    }
    if (base.empty())
      throw Error(df_.filename + ":" + std::to_string(st.line) + ": FROM: base name (" + st.base +
                  ") should not be blank");
    const Stage* earlier = df_.find_stage(base);
    if (earlier && earlier->index < st.index && !earlier->name.empty()) return build_stage(earlier->index);
    int n = ++step_;
    out_ << "#" << n << " [" << (st.name.empty() ? "stage-" + std::to_string(st.index) : st.name) << " 1/"
         << st.instructions.size() + 1 << "] FROM " << base << "\n";
    if (base == "scratch") return scratch_config();
    try {
      image::Image img = images_.resolve(base);
      return base_config(images_.config_json(img));
    } catch (const Error& e) {
      throw Error(df_.filename + ":" + std::to_string(st.line) + ": FROM " + base + ": " + e.what());
    }
  }

  // --------------------------------------------------------- expansion --

  // ENV first, then the stage's ARGs (Docker's order).
  Lookup vars(const StageState& s) const {
    return [&s](const std::string& k) -> std::optional<std::string> {
      if (auto v = env_value(s.cfg, k)) return v;
      auto it = s.args.find(k);
      if (it != s.args.end()) return it->second;
      return std::nullopt;
    };
  }

  std::vector<std::string> words(const Instruction& in, const Lookup& v) const {
    if (in.json_form) {
      std::vector<std::string> out;
      for (const auto& w : in.json) out.push_back(expand_word(w, df_.escape, v));
      return out;
    }
    return expand_words(in.args, df_.escape, v);
  }

  // The build args in effect, for RUN's environment and the cache key.
  std::vector<std::string> args_in_effect(const StageState& s) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : s.args) out.push_back(k + "=" + v);
    return out;
  }

  std::vector<std::string> shell_of(const StageState& s) const {
    auto sh = strings(s.cfg, "Shell");
    return sh.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : sh;
  }

  std::vector<std::string> command(const StageState& s, const Instruction& in) const {
    if (in.json_form) return in.json;
    auto cmd = shell_of(s);
    cmd.push_back(in.args);
    return cmd;
  }

  std::string workdir(const StageState& s) const { return string_or(s.cfg, "WorkingDir", "/"); }

  std::vector<std::string> layer_dirs(const json& cfg) const {
    std::vector<std::string> dirs;
    for (const auto& d : diff_ids(cfg))
      dirs.push_back((StorePaths{root_}.layers() / image::digest_hex(d)).string());
    return dirs;
  }

  // ------------------------------------------------------- instructions --

  void execute(StageState& s, const Instruction& in) {
    const std::string& kw = in.keyword;
    if (kw == "ARG") return arg(s, in);
    if (kw == "RUN") return run(s, in);
    if (kw == "COPY" || kw == "ADD") return copy(s, in);
    config_only(s, in);
  }

  void arg(StageState& s, const Instruction& in) {
    for (const auto& w : words(in, vars(s))) {
      size_t eq = w.find('=');
      std::string name = w.substr(0, eq);
      if (name.empty()) throw Error("ARG names can not be blank");
      if (auto it = o_.build_args.find(name); it != o_.build_args.end()) {
        s.args[name] = it->second;
        consumed_.insert(name);
      } else if (eq != std::string::npos) {
        s.args[name] = w.substr(eq + 1);
      } else if (auto g = globals_.find(name); g != globals_.end()) {
        s.args[name] = g->second;
      }
    }
  }

  void config_only(StageState& s, const Instruction& in) {
    const std::string& kw = in.keyword;
    json& rt = runtime(s.cfg);
    Lookup v = vars(s);
    if (kw == "ENV") {
      for (const auto& [k, val] : parse_pairs(in, df_.escape, v)) set_env(s.cfg, k, val);
    } else if (kw == "LABEL") {
      for (const auto& [k, val] : parse_pairs(in, df_.escape, v)) rt["Labels"][k] = val;
    } else if (kw == "WORKDIR") {
      std::string dir = expand_word(in.args, df_.escape, v);
      if (!dir.starts_with("/")) dir = workdir(s) + "/" + dir;
      rt["WorkingDir"] = "/" + layer_path(dir);
    } else if (kw == "USER") {
      rt["User"] = expand_word(in.args, df_.escape, v);
    } else if (kw == "EXPOSE") {
      for (auto p : words(in, v)) {
        if (p.find('/') == std::string::npos) p += "/tcp";
        std::string num = p.substr(0, p.find('/')), proto = p.substr(p.find('/') + 1);
        if (num.empty() || num.find_first_not_of("0123456789-") != std::string::npos ||
            (proto != "tcp" && proto != "udp" && proto != "sctp"))
          throw Error("invalid containerPort: " + p);
        rt["ExposedPorts"][p] = json::object();
      }
    } else if (kw == "VOLUME") {
      for (const auto& p : words(in, v)) {
        if (p.empty()) throw Error("VOLUME specified can not be an empty string");
        rt["Volumes"][p] = json::object();
      }
    } else if (kw == "CMD") {
      rt["Cmd"] = command(s, in);
      s.cmd_set = true;
    } else if (kw == "ENTRYPOINT") {
      rt["Entrypoint"] = command(s, in);
      if (!s.cmd_set) rt.erase("Cmd");  // an inherited CMD goes with a new ENTRYPOINT
    } else if (kw == "SHELL") {
      rt["Shell"] = in.json;
    } else if (kw == "STOPSIGNAL") {
      std::string sig = expand_word(in.args, df_.escape, v);
      container::parse_signal(sig);  // refuses unknown names
      rt["StopSignal"] = sig;
    } else if (kw == "HEALTHCHECK") {
      rt["Healthcheck"] = healthcheck(in);
    } else if (kw == "MAINTAINER") {
      s.cfg["author"] = in.args;
    } else {
      throw Error("unsupported instruction");
    }
    int n = ++step_;
    out_ << "#" << n << " " << s.label << " " << in.display() << "\n";
    add_history(s.cfg, in.display(), true, o_.source_date_epoch);
  }

  json healthcheck(const Instruction& in) const {
    std::string args = in.args;
    size_t sp = args.find_first_of(" \t");
    std::string type = args.substr(0, sp);
    for (auto& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (type == "NONE") return {{"Test", {"NONE"}}};
    std::string rest = args.substr(args.find_first_not_of(" \t", sp));
    json hc;
    std::vector<std::string> test;
    if (rest.starts_with("[")) {
      try {
        test = json::parse(rest).get<std::vector<std::string>>();
        test.insert(test.begin(), "CMD");
      } catch (const json::exception&) {
        test = {"CMD-SHELL", rest};
      }
    } else {
      test = {"CMD-SHELL", rest};
    }
    hc["Test"] = test;
    const std::map<std::string, const char*> names = {{"interval", "Interval"},
                                                      {"timeout", "Timeout"},
                                                      {"start-period", "StartPeriod"},
                                                      {"start-interval", "StartInterval"}};
    for (const auto& [flag, key] : names)
      if (auto it = in.flags.find(flag); it != in.flags.end()) hc[key] = parse_duration(it->second);
    if (auto it = in.flags.find("retries"); it != in.flags.end()) {
      if (it->second.empty() || it->second.find_first_not_of("0123456789") != std::string::npos)
        throw Error("invalid --retries: " + it->second);
      hc["Retries"] = std::stoi(it->second);
    }
    return hc;
  }

  // ---------------------------------------------------- layer steps --

  // Look the step up in the cache, or do it; adds the layer (if any) and the
  // history entry.
  void layer_step(StageState& s, const Instruction& in, const std::string& content,
                  const std::function<std::optional<std::string>()>& make) {
    int n = ++step_;
    ++result_.steps;
    out_ << "#" << n << " " << s.label << " " << in.display() << "\n" << std::flush;
    std::vector<std::string> parts = {config_digest(s.cfg), in.display(), content};
    for (const auto& a : args_in_effect(s)) parts.push_back(a);
    std::string key = Cache::key(parts);
    std::optional<std::string> diff_id;
    auto hit = o_.no_cache ? std::nullopt : cache_.find(key);
    if (hit) {
      ++result_.cached;
      out_ << "#" << n << " CACHED\n";
      diff_id = hit->diff_id;
    } else {
      auto t0 = std::chrono::steady_clock::now();
      diff_id = make();
      cache_.put(key, CacheResult{diff_id});
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      out_ << "#" << n << " DONE " << std::fixed << std::setprecision(1) << secs << "s\n";
    }
    if (diff_id) add_layer(s.cfg, *diff_id);
    add_history(s.cfg, in.display(), !diff_id, o_.source_date_epoch);
  }

  // The tar written by `write`, into the store; nullopt for an empty one.
  std::optional<std::string> store_layer(const LayerTar& tar) {
    if (tar.empty()) return std::nullopt;
    sfs::path out = work_ / "layer.tar";
    std::string diff_id = tar.write(out, o_.source_date_epoch);
    images_.add_layer(out, diff_id, image::LoadLimits::from_env());
    ::unlink(out.c_str());
    return diff_id;
  }

  void run(StageState& s, const Instruction& in) {
    RunSpec spec;
    spec.args = command(s, in);
    spec.env = strings(s.cfg, "Env");
    if (!env_value(s.cfg, "PATH")) spec.env.insert(spec.env.begin(), kDefaultPath);
    for (const auto& [k, v] : s.args)
      if (!env_value(s.cfg, k)) spec.env.push_back(k + "=" + v);
    spec.workdir = workdir(s);
    spec.user = string_or(s.cfg, "User", "");
    spec.layer_dirs = layer_dirs(s.cfg);
    spec.image_id = config_digest(s.cfg);
    if (auto it = in.flags.find("network"); it != in.flags.end() && it->second != "default")
      spec.network = it->second;
    layer_step(s, in, "", [&]() -> std::optional<std::string> {
      out_ << std::flush;
      std::optional<std::string> diff_id;
      int code = run_in_container(root_, spec, [&](const sfs::path& upper) {
        LayerTar tar;
        tar.add_tree(upper, "");
        diff_id = store_layer(tar);
      });
      if (code != 0) {
        std::string shown;
        for (const auto& a : spec.args) shown += (shown.empty() ? "" : " ") + a;
        throw Error(
            "process \"" + shown + "\" did not complete successfully: exit code: " + std::to_string(code), 1);
      }
      return diff_id;
    });
  }

  void copy(StageState& s, const Instruction& in) {
    Lookup v = vars(s);
    std::vector<std::string> w = words(in, v);
    if (w.size() < 2) throw Error(in.keyword + " requires at least two arguments");
    CopySpec spec;
    spec.keyword = in.keyword;
    spec.stage_layers = layer_dirs(s.cfg);
    spec.context = &ctx_;
    std::string dest = w.back();
    w.pop_back();
    spec.dest = dest.starts_with("/") ? dest : workdir(s) + "/" + dest;
    if (dest.ends_with("/") || dest == "." || dest.ends_with("/.")) spec.dest_is_dir = true;
    if (auto it = in.flags.find("chown"); it != in.flags.end())
      spec.chown = expand_word(it->second, df_.escape, v);
    std::string content;
    if (auto it = in.flags.find("from"); it != in.flags.end() && in.keyword == "COPY") {
      std::string from = expand_word(it->second, df_.escape, v);
      const Stage* st = df_.find_stage(from);
      json src;
      if (st && st->index < s.index) {
        src = build_stage(st->index);
        content = "stage " + config_digest(src);
      } else if (st) {
        throw Error("--from=" + from + " names this stage or a later one");
      } else {
        image::Image img = images_.resolve(from);
        src = base_config(images_.config_json(img));
        content = "image " + img.id;
      }
      spec.from_layers = layer_dirs(src);
      spec.from_paths = w;
      for (const auto& p : w)
        if (p.find_first_of("*?[") != std::string::npos) spec.dest_is_dir = true;
    } else {
      std::vector<std::string> rels;
      for (const auto& src : w) {
        if (src.starts_with("http://") || src.starts_with("https://") || src.starts_with("git@"))
          throw Error(in.keyword + " from a URL is not supported by minictr: builds read only the context (" +
                      src + ")");
        auto matched = ctx_.match(src);
        if (matched.size() > 1 || src.find_first_of("*?[") != std::string::npos) spec.dest_is_dir = true;
        for (const auto& m : matched) {
          CopySource cs;
          cs.host = ctx_.dir() / m;
          cs.name = sfs::path(m).filename().string();
          if (cs.name.empty()) cs.name = ".";
          cs.context_rel = m;
          cs.unpack = in.keyword == "ADD" && is_tar_archive(cs.host);
          if (cs.unpack) content += "unpack " + m + "\n";
          spec.sources.push_back(cs);
          rels.push_back(m);
        }
      }
      content += "context " + ctx_.digest(rels);
    }
    layer_step(s, in, content, [&]() -> std::optional<std::string> {
      sfs::path step = work_ / ("copy-" + std::to_string(step_));
      fs::mkdir_p(step, 0700);
      ScopeGuard clean([&] { fs::remove_tree(step); });
      sfs::path out = work_ / "copy.tar";
      std::string diff_id = write_copy_layer(spec, step, out, o_.source_date_epoch);
      images_.add_layer(out, diff_id, image::LoadLimits::from_env());
      ::unlink(out.c_str());
      return diff_id;
    });
  }

  sfs::path root_;
  const BuildOptions& o_;
  std::ostream& out_;
  image::Store images_;
  Cache cache_;
  Context ctx_;
  Dockerfile df_;
  sfs::path work_;
  std::map<std::string, std::string> globals_;
  std::set<std::string> consumed_;
  std::map<int, json> done_;
  std::set<int> building_;
  int step_ = 0;
  BuildResult result_;
};

}  // namespace

int64_t parse_duration(const std::string& s) {
  if (s.empty()) throw Error("invalid duration \"\"");
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) throw Error("invalid duration \"" + s + "\"");
    double n = std::stod(s.substr(start, i - start));
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(ustart, i - ustart);
    double mult = unit == "ns"   ? 1
                  : unit == "us" ? 1e3
                  : unit == "ms" ? 1e6
                  : unit == "s"  ? 1e9
                  : unit == "m"  ? 60e9
                  : unit == "h"  ? 3600e9
                                 : -1;
    if (mult < 0) throw Error("invalid duration \"" + s + "\" (units: ns us ms s m h)");
    total += static_cast<int64_t>(n * mult);
  }
  return total;
}

BuildResult build_image(const sfs::path& root, const BuildOptions& o, std::ostream& out) {
  // As docker build: a failed build exits 1, whatever failed.
  try {
    Builder b(root, o, out);
    return b.run();
  } catch (const Error& e) {
    throw Error(e.what(), 1);
  }
}

}  // namespace mctr::build
