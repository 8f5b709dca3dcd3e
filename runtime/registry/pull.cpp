#include "registry/pull.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/reference.h"
#include "image/registry_manifest.h"
#include "registry/blob_transfer.h"
#include "registry/credential_helper.h"
#include "registry/http_client.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/scope_guard.h"

namespace mctr::registry {

namespace {

struct FetchedManifest {
  image::Manifest manifest;
  std::string digest;  // of the bytes received
};

// GET a manifest by tag or digest; by digest, its bytes must hash to it.
FetchedManifest get_manifest(HttpClient& http, const std::string& repo_path, const std::string& ref,
                             const std::string& want_digest) {
  Request req;
  req.url = repo_path + "/manifests/" + ref;
  req.headers["Accept"] = image::manifest_accept_header();
  req.max_body = 4 << 20;
  Response r = http.send(req);
  expect_status(r, {200});
  FetchedManifest f;
  f.digest = image::sha256_digest(r.body);
  if (!want_digest.empty() && f.digest != want_digest)
    throw Error("manifest digest mismatch: the registry sent " + f.digest + ", asked for " + want_digest);
  // By tag, the registry says which digest it means; a proxy that changed the bytes is caught here.
  std::string said = r.header("docker-content-digest");
  if (!said.empty() && said != f.digest)
    throw Error("manifest digest mismatch: the registry says " + said + ", the bytes are " + f.digest);
  f.manifest = image::parse_manifest(r.body, r.header("content-type"));
  return f;
}

std::vector<std::string> diff_ids_of(const std::string& config) {
  auto j = nlohmann::json::parse(config, nullptr, false);
  std::vector<std::string> out;
  if (j.is_object() && j.contains("rootfs") && j["rootfs"].is_object() && j["rootfs"].contains("diff_ids") &&
      j["rootfs"]["diff_ids"].is_array())
    for (const auto& d : j["rootfs"]["diff_ids"])
      if (d.is_string()) out.push_back(d.get<std::string>());
  return out;
}

// A single-platform manifest built for another CPU still pulls (as with
// Docker), but its programs will not run here: say so.
void warn_on_other_platform(const std::string& config, std::ostream& warnings) {
  auto j = nlohmann::json::parse(config, nullptr, false);
  if (!j.is_object()) return;
  std::string os = j.value("os", "linux"), arch = j.value("architecture", "amd64");
  if (os != "linux" || arch != "amd64")
    warnings << "WARNING: The requested image's platform (" << os << "/" << arch
             << ") does not match the detected host platform (linux/amd64)\n";
}

}  // namespace

image::Image pull(image::Store& store, const std::string& ref_text, bool insecure, std::ostream& out,
                  std::ostream& warnings) {
  image::RemoteReference ref = image::parse_remote_reference(ref_text);
  HttpClient http(ref.registry, insecure, "repository:" + ref.repository + ":pull",
                  lookup_credentials(store.root(), ref.registry));
  const std::string repo_path = "/v2/" + ref.repository;

  if (!ref.tag.empty()) out << ref.tag << ": Pulling from " << ref.repository << "\n" << std::flush;
  FetchedManifest top = get_manifest(http, repo_path, ref.manifest_ref(), ref.digest);
  FetchedManifest m = top;
  if (m.manifest.is_index) {
    image::Descriptor d = image::select_platform(m.manifest, "linux", "amd64");
    m = get_manifest(http, repo_path, d.digest, d.digest);
    if (m.manifest.is_index) throw Error("the index entry for linux/amd64 is an index itself");
  }

  std::string config = download_small_blob(http, repo_path, m.manifest.config);
  std::vector<std::string> diff_ids = diff_ids_of(config);
  warn_on_other_platform(config, warnings);
  if (diff_ids.size() != m.manifest.layers.size())
    throw Error("the manifest lists " + std::to_string(m.manifest.layers.size()) +
                " layers, the image config " + std::to_string(diff_ids.size()));

  StorePaths p{store.root()};
  fs::mkdir_p(p.tmp(), 0700);
  // Named <kind>.<pid> so the store removes it if this process is killed.
  std::filesystem::path work = p.tmp() / ("pull." + std::to_string(::getpid()));
  fs::remove_tree(work);
  fs::mkdir_p(work, 0700);
  ScopeGuard clean([&] { fs::remove_tree(work); });

  std::vector<image::FetchedLayer> layers;
  for (size_t i = 0; i < m.manifest.layers.size(); ++i) {
    const image::Descriptor& d = m.manifest.layers[i];
    std::string short_id = d.digest.substr(7, 12);
    image::FetchedLayer l{{}, d.digest, d.media_type};
    if (image::is_sha256_digest(diff_ids[i]) && store.has_layer(diff_ids[i])) {
      out << short_id << ": Already exists\n" << std::flush;
    } else {
      l.file = work / image::digest_hex(d.digest);
      download_blob(http, repo_path, d, l.file);
      out << short_id << ": Download complete\n" << std::flush;
    }
    layers.push_back(l);
  }
  std::vector<std::string> tags;
  if (!ref.store_tag().empty()) tags.push_back(ref.store_tag());
  image::Image img = store.add_fetched_image(config, layers, tags, image::LoadLimits::from_env());
  // Docker's RepoDigests: the repository (no tag) and the digest asked for or
  // received (an index's, for a multi-platform image).
  image::RemoteReference named = ref;
  named.tag = "latest";
  std::string repo = named.store_tag();
  store.add_repo_digest(img.id,
                        repo.substr(0, repo.size() - std::string_view(":latest").size()) + "@" + top.digest);
  img = *store.find(img.id);
  out << "Digest: " << top.digest << "\n";
  out << "Status: Downloaded image for " << ref_text << "\n";
  return img;
}

}  // namespace mctr::registry
