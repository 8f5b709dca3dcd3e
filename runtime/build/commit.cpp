#include "build/commit.h"

#include <unistd.h>

#include <ctime>

#include "build/image_config.h"
#include "build/layer_tar.h"
#include "container/pause.h"
#include "container/state.h"
#include "image/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::build {

std::string commit_container(const std::filesystem::path& root, const CommitOptions& o) {
  container::Store containers(root);
  std::string id = containers.resolve(o.container);
  container::Config c = containers.config(id);
  image::Store images(root);
  auto img = images.find(c.image_id);
  if (!img)
    throw Error("commit: the image " + c.image + " of container " + o.container + " is no longer stored");
  json cfg = base_config(images.config_json(*img));

  const container::FrozenWhileRead frozen(containers, id);  // as `docker commit --pause`

  int64_t now = static_cast<int64_t>(::time(nullptr));
  std::filesystem::path upper = containers.dir(id) / "upper";
  LayerTar tar;
  if (std::filesystem::exists(upper)) tar.add_tree(upper, "");
  bool empty = tar.empty();
  if (!empty) {
    StorePaths p{root};
    fs::mkdir_p(p.tmp(), 0700);
    std::filesystem::path out = p.tmp() / ("commit." + std::to_string(::getpid()));
    ScopeGuard remove([&] { ::unlink(out.c_str()); });
    std::string diff_id = tar.write(out, now);
    images.add_layer(out, diff_id, image::LoadLimits::from_env());
    add_layer(cfg, diff_id);
  }
  // The container's own settings become the image's (as docker commit).
  json& rt = runtime(cfg);
  rt["Env"] = c.env;
  rt["Cmd"] = c.cmd;
  if (c.entrypoint.empty())
    rt.erase("Entrypoint");
  else
    rt["Entrypoint"] = c.entrypoint;
  rt["WorkingDir"] = c.working_dir;
  rt["User"] = c.user;
  if (!o.author.empty()) cfg["author"] = o.author;
  add_history(cfg, o.message.empty() ? "minictr commit " + id.substr(0, 12) : o.message, empty, now);
  return images.add_image(cfg.dump(), o.tags).id;
}

}  // namespace mctr::build
