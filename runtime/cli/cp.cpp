// minictr cp CONTAINER:SRC HOSTDST   |   minictr cp HOSTSRC CONTAINER:DST
// minictr cp CONTAINER:SRC -         |   minictr cp - CONTAINER:DIR   (a tar stream, as docker cp)
#include <unistd.h>

#include "cli/verbs.h"
#include "container/copy.h"

namespace mctr::cli {

// "name:/path" -> (name, /path); a host path has no ':' before its first '/'.
static std::optional<std::pair<std::string, std::string>> container_path(const std::string& arg) {
  auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  if (auto slash = arg.find('/'); slash != std::string::npos && slash < colon) return std::nullopt;
  return std::make_pair(arg.substr(0, colon), arg.substr(colon + 1));
}

void add_cp(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("cp", "Copy files between a container and the host");
  auto src = std::make_shared<std::string>(), dst = std::make_shared<std::string>();
  sub->add_option("src", *src, "CONTAINER:SRC_PATH, host path, or - (a tar stream on stdin)")->required();
  sub->add_option("dst", *dst, "host path, CONTAINER:DEST_PATH, or - (a tar stream on stdout)")->required();
  sub->callback([&g, src, dst] {
    container::Store store(g.root());
    auto from = container_path(*src), to = container_path(*dst);
    if (from && to) throw Error("copying between containers is not supported");
    if (!from && !to) throw Error("must specify at least one container source (CONTAINER:PATH)");
    if (from) {
      std::string path = from->second.empty() ? "/" : from->second;
      if (*dst == "-")
        container::copy_tar_from_container(store, store.resolve(from->first), path, STDOUT_FILENO);
      else
        container::copy_from_container(store, store.resolve(from->first), path, *dst);
    } else {
      std::string path = to->second.empty() ? "/" : to->second;
      if (*src == "-")
        container::copy_tar_to_container(store, store.resolve(to->first), STDIN_FILENO, path);
      else
        container::copy_to_container(store, store.resolve(to->first), *src, path);
    }
    g.exit_code = 0;
  });
}

}  // namespace mctr::cli
