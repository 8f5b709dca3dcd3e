// minictr build -t NAME[:TAG] [-f FILE] [--build-arg K=V] [--target STAGE]
//               [--no-cache] [--progress plain|tty] CONTEXT
#include <cstdlib>
#include <iostream>
#include <memory>

#include "build/builder.h"
#include "cli/verbs.h"
#include "util/error.h"

namespace mctr::cli {

namespace {

struct BuildFlags {
  std::string context, file, target, progress = "plain";
  std::vector<std::string> tags, build_args;
  bool no_cache = false, quiet = false;
};

// SOURCE_DATE_EPOCH: every timestamp in the image (default 0, 1970-01-01).
int64_t source_date_epoch() {
  const char* v = std::getenv("SOURCE_DATE_EPOCH");
  if (!v || !*v) return 0;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  if (*end || n < 0) throw Error("invalid SOURCE_DATE_EPOCH \"" + std::string(v) + "\" (seconds since 1970)");
  return n;
}

}  // namespace

void add_build(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("build", "Build an image from a Dockerfile");
  auto f = std::make_shared<BuildFlags>();
  sub->add_option("context", f->context, "The build context (a directory)")->required();
  sub->add_option("-t,--tag", f->tags, "Name and optionally a tag (NAME[:TAG])")->allow_extra_args(false);
  sub->add_option("-f,--file", f->file, "The Dockerfile (default: CONTEXT/Dockerfile)");
  sub->add_option("--build-arg", f->build_args, "Set a build-time variable (KEY=VALUE)")
      ->allow_extra_args(false);
  sub->add_option("--target", f->target, "Build this stage (and what it needs) only");
  sub->add_flag("--no-cache", f->no_cache, "Do not use the build cache");
  sub->add_option("--progress", f->progress, "Output: plain or tty (the same here: one line per step)")
      ->check(CLI::IsMember({"plain", "tty", "auto"}));
  sub->add_flag("-q,--quiet", f->quiet, "Print only the image ID");
  sub->callback([&g, f] {
    build::BuildOptions o;
    o.context = f->context;
    o.dockerfile = f->file;
    o.tags = f->tags;
    o.target = f->target;
    o.no_cache = f->no_cache;
    o.source_date_epoch = source_date_epoch();
    for (const auto& kv : f->build_args) {
      size_t eq = kv.find('=');
      if (eq == 0) throw Error("invalid --build-arg \"" + kv + "\" (want KEY=VALUE)");
      if (eq == std::string::npos) {
        // Docker: "--build-arg KEY" takes the value from our environment.
        if (const char* v = std::getenv(kv.c_str())) o.build_args[kv] = v;
        continue;
      }
      o.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    std::ostream null(nullptr);
    auto r = build::build_image(g.root(), o, f->quiet ? null : std::cout);
    if (f->quiet) std::cout << r.image_id << "\n";
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
