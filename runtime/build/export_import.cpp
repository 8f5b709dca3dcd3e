#include "build/export_import.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <memory>

#include "build/decompress.h"
#include "build/dockerfile.h"
#include "build/image_config.h"
#include "build/layer_tar.h"
#include "container/lifecycle.h"
#include "container/pause.h"
#include "container/state.h"
#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::build {

namespace sfs = std::filesystem;

// ------------------------------------------------------------------ export --

void export_container(const sfs::path& root, const std::string& container, const sfs::path& out) {
  container::Store containers(root);
  std::string id = containers.resolve(container);
  container::Config c = containers.config(id);

  const container::FrozenWhileRead frozen(containers, id);  // as `docker commit --pause`

  LayerTar merged;
  for (const auto& dir : c.layer_dirs) {  // lowest first
    LayerTar layer;
    layer.add_tree(dir, "");
    merged.merge_over(layer);
  }
  sfs::path upper = containers.dir(id) / "upper";
  if (sfs::exists(upper)) {
    LayerTar changes;
    changes.add_tree(upper, "");
    merged.merge_over(changes);
  }
  // One mtime for every file (LayerTar writes reproducible tars): the time
  // of the export.
  merged.write(out, static_cast<int64_t>(::time(nullptr)));
}

// ------------------------------------------------------------------ import --

namespace {

// docker import --change: the Dockerfile instructions that only set config.
void apply_change(json& cfg, const std::string& change) {
  Dockerfile df = parse_dockerfile("FROM scratch\n" + change + "\n", "--change");
  Lookup vars = [&](const std::string& k) { return env_value(cfg, k); };
  for (const Instruction& in : df.stages.at(0).instructions) {
    json& rt = runtime(cfg);
    const std::string& kw = in.keyword;
    auto command = [&] {
      return in.json_form ? in.json : std::vector<std::string>{"/bin/sh", "-c", in.args};
    };
    if (kw == "CMD") {
      rt["Cmd"] = command();
    } else if (kw == "ENTRYPOINT") {
      rt["Entrypoint"] = command();
    } else if (kw == "ENV") {
      for (const auto& [k, v] : parse_pairs(in, df.escape, vars)) set_env(cfg, k, v);
    } else if (kw == "LABEL") {
      for (const auto& [k, v] : parse_pairs(in, df.escape, vars)) rt["Labels"][k] = v;
    } else if (kw == "USER") {
      rt["User"] = expand_word(in.args, df.escape, vars);
    } else if (kw == "WORKDIR") {
      std::string dir = expand_word(in.args, df.escape, vars);
      if (!dir.starts_with("/")) throw Error("import: --change WORKDIR needs an absolute path: " + dir);
      rt["WorkingDir"] = "/" + layer_path(dir);
    } else if (kw == "EXPOSE") {
      for (auto p : expand_words(in.args, df.escape, vars)) {
        if (p.find('/') == std::string::npos) p += "/tcp";
        rt["ExposedPorts"][p] = json::object();
      }
    } else if (kw == "VOLUME") {
      for (const auto& p : in.json_form ? in.json : expand_words(in.args, df.escape, vars))
        rt["Volumes"][p] = json::object();
    } else if (kw == "STOPSIGNAL") {
      std::string sig = expand_word(in.args, df.escape, vars);
      container::parse_signal(sig);
      rt["StopSignal"] = sig;
    } else {
      throw Error("import: " + kw +
                  " is not supported in --change (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                  "STOPSIGNAL, USER, VOLUME, WORKDIR are)");
    }
  }
}

}  // namespace

std::string import_tarball(const sfs::path& root, const ImportOptions& o) {
  json cfg = scratch_config();
  for (const auto& c : o.changes) apply_change(cfg, c);  // bad changes fail before any work

  image::Store images(root);
  StorePaths p{root};
  fs::mkdir_p(p.tmp(), 0700);
  sfs::path tar = p.tmp() / ("import." + std::to_string(::getpid()));  // removed by the store if we die
  ScopeGuard remove([&] { ::unlink(tar.c_str()); });
  std::string diff_id = decompress_to(o.source, tar, "import");
  // The tar is kept as the layer's blob (moved into blobs/): push and save
  // send these bytes, whatever tool wrote them.
  images.add_layer(tar, diff_id, image::LoadLimits::from_env(), /*keep_blob=*/true);
  add_layer(cfg, diff_id);
  int64_t now = static_cast<int64_t>(::time(nullptr));
  add_history(cfg, "", false, now);
  cfg["history"].back()["comment"] =
      o.message.empty() ? "Imported from " + (o.source == "-" ? std::string("-") : o.source) : o.message;
  cfg["history"].back().erase("created_by");
  return images.add_image(cfg.dump(), o.tags).id;
}

}  // namespace mctr::build
