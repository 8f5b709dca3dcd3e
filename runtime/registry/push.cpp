#include "registry/push.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "build/layer_tar.h"
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

struct Blob {
  image::Descriptor desc;
  std::filesystem::path file;
};

// Another repository of the same registry this image was pushed to or pulled
// from (its RepoDigests): its blobs are mounted from there, not sent again,
// as Docker does. "" when there is none.
std::string mount_source(const image::Image& img, const image::RemoteReference& ref) {
  for (const std::string& rd : img.repo_digests) {
    try {
      image::RemoteReference other = image::parse_remote_reference(rd);
      if (other.registry == ref.registry && other.repository != ref.repository) return other.repository;
    } catch (const Error&) {  // a record this version cannot parse: no mount from it
    }
  }
  return "";
}

}  // namespace

void push(image::Store& store, const std::string& ref_text, bool insecure, std::ostream& out,
          std::ostream& warnings) {
  image::RemoteReference ref = image::parse_remote_reference(ref_text);
  if (ref.tag.empty()) throw Error("push by digest is not supported: give a tag (" + ref_text + ")");
  std::optional<image::Image> img = store.find(ref.store_tag());
  if (!img) throw Error("An image does not exist locally with the tag: " + ref.store_tag());
  std::string mount_from = mount_source(*img, ref);
  // A mount needs pull on the source repository too: a token server is asked for both.
  std::string scope = "repository:" + ref.repository + ":pull,push" +
                      (mount_from.empty() ? "" : " repository:" + mount_from + ":pull");
  HttpClient http(ref.registry, insecure, scope, lookup_credentials(store.root(), ref.registry));
  const std::string repo_path = "/v2/" + ref.repository;

  StorePaths p{store.root()};
  fs::mkdir_p(p.tmp(), 0700);
  std::filesystem::path work = p.tmp() / ("push." + std::to_string(::getpid()));
  fs::remove_tree(work);
  fs::mkdir_p(work, 0700);
  ScopeGuard clean([&] { fs::remove_tree(work); });

  out << "The push refers to repository [" << (ref.registry == "docker.io" ? "docker.io" : ref.registry)
      << "/" << ref.repository << "]\n"
      << std::flush;
  std::string config = store.config_json(*img);
  nlohmann::json cfg = nlohmann::json::parse(config);
  bool repacked_differently = false;
  std::vector<Blob> layers;
  for (size_t i = 0; i < img->diff_ids.size(); ++i) {
    const std::string& diff_id = img->diff_ids[i];
    if (auto kept = store.layer_blob(diff_id)) {
      layers.push_back({{kept->media_type, kept->digest, kept->size, {}, {}, {}}, kept->path});
      continue;
    }
    // Not kept (made by build, commit or import): the tar written again.
    build::LayerTar tar;
    tar.add_tree(img->layer_dirs[i], "");
    std::filesystem::path file = work / (std::to_string(i) + ".tar");
    std::string digest = tar.write(file, 0);
    if (digest != diff_id) {
      warnings << "push: layer " << diff_id.substr(7, 12)
               << " was not packed by minictr and its blob was not "
               << "kept; it is pushed repacked as " << digest.substr(7, 12) << " (the image ID changes)\n";
      cfg["rootfs"]["diff_ids"][i] = digest;
      repacked_differently = true;
    }
    layers.push_back(
        {{"application/vnd.oci.image.layer.v1.tar", digest, std::filesystem::file_size(file), {}, {}, {}},
         file});
  }
  if (repacked_differently) config = cfg.dump();
  Blob config_blob{{image::media::kOciConfig, image::sha256_digest(config), config.size(), {}, {}, {}},
                   work / "config.json"};
  fs::write_file_atomic(config_blob.file, config, 0600);

  std::vector<image::Descriptor> layer_descs;
  for (const auto& b : layers) {
    Upload how = upload_blob(http, repo_path, b.desc, b.file, mount_from);
    out << b.desc.digest.substr(7, 12) << ": "
        << (how == Upload::kPushed    ? "Pushed"
            : how == Upload::kMounted ? "Mounted from " + mount_from
                                      : "Layer already exists")
        << "\n"
        << std::flush;
    layer_descs.push_back(b.desc);
  }
  upload_blob(http, repo_path, config_blob.desc, config_blob.file, mount_from);

  std::string manifest = image::make_oci_manifest(config_blob.desc, layer_descs);
  Request put;
  put.method = "PUT";
  put.url = repo_path + "/manifests/" + ref.tag;
  put.headers["Content-Type"] = image::media::kOciManifest;
  put.body = manifest;
  Response r = http.send(put);
  expect_status(r, {201});
  std::string digest = image::sha256_digest(manifest);
  std::string said = r.header("docker-content-digest");
  if (!said.empty() && said != digest)
    throw Error("the registry stored the manifest as " + said + ", its bytes are " + digest);
  // A repacked layer gave the pushed image another config: that manifest is not this image's.
  if (config_blob.desc.digest == img->id) {
    std::string repo = ref.store_tag();
    store.add_repo_digest(img->id, repo.substr(0, repo.size() - ref.tag.size() - 1) + "@" + digest);
  }
  out << ref.tag << ": digest: " << digest << " size: " << manifest.size() << "\n";
}

}  // namespace mctr::registry
