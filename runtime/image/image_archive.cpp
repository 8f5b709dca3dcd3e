#include "image/image_archive.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/reference.h"
#include "util/error.h"

namespace mctr::image {

using json = nlohmann::json;

namespace {

constexpr int kMaxIndexDepth = 4;
// Manifests and indexes read for one archive, at all levels together: an
// index may list one blob many times, and nested indexes multiply that
// (100 entries at each of 5 levels would be 10^10 reads).
constexpr size_t kMaxManifests = 1000;
// JSON nesting: image metadata needs less than 10 levels. nlohmann's dump and
// copy recurse once per level: a config holding a 600 KB "[[[...]]]" crashed
// `load` with a stack overflow when the store wrote its record
// (tests/fuzz/regressions/image_archive/deep-json-config.tar.gz).
constexpr int kMaxJsonDepth = 100;

// Throws when `text` nests arrays/objects deeper than kMaxJsonDepth. Counts
// brackets outside strings only; whatever else is wrong the parser reports.
void check_json_depth(const std::string& text, const std::string& what) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        throw Error(what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

json parse_json(const std::string& text, const std::string& what) {
  check_json_depth(text, what);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(what + ": invalid JSON: " + e.what());
  }
}

std::string host_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

// "blobs/sha256/<hex>" -> "sha256:<hex>"; "<hex>.json" (docker save's config) -> "sha256:<hex>".
std::optional<std::string> digest_from_name(const std::string& name) {
  if (name.starts_with("blobs/sha256/")) {
    std::string d = "sha256:" + name.substr(13);
    if (is_sha256_digest(d)) return d;
  }
  if (name.size() == 64 + 5 && name.ends_with(".json")) {
    std::string d = "sha256:" + name.substr(0, 64);
    if (is_sha256_digest(d)) return d;
  }
  return std::nullopt;
}

bool is_layer_media_type(const std::string& mt) {
  if (mt.empty()) return true;
  return mt.find("tar") != std::string::npos && mt.find("encrypted") == std::string::npos;
}

bool is_index_media_type(const std::string& mt) {
  return mt == "application/vnd.oci.image.index.v1+json" ||
         mt == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::vector<std::string> tags_from_annotations(const json& desc, const std::string& default_name) {
  std::vector<std::string> tags;
  if (!desc.contains("annotations") || !desc["annotations"].is_object()) return tags;
  const json& a = desc["annotations"];
  if (a.contains("io.containerd.image.name")) {
    tags.push_back(parse_reference(a["io.containerd.image.name"].get<std::string>()).str());
  } else if (a.contains("org.opencontainers.image.ref.name")) {
    std::string ref = a["org.opencontainers.image.ref.name"].get<std::string>();
    tags.push_back(is_bare_tag(ref) ? parse_reference(default_name + ":" + ref).str()
                                    : parse_reference(ref).str());
  }
  return tags;
}

// Read a blob named by its descriptor and check it against the digest.
std::string read_verified_blob(ArchiveSource& src, const json& desc) {
  std::string digest = desc.at("digest").get<std::string>();
  std::string name = "blobs/sha256/" + digest_hex(digest);
  std::string text = src.read_small(name);
  if (std::string got = sha256_digest(text); got != digest)
    throw Error(src.path().string() + ": blob " + digest + " is corrupt (its content hashes to " + got + ")");
  // is_number_unsigned first: get<uint64_t>() of a negative or fractional
  // size (1e300) converts it, the latter with undefined behaviour.
  if (desc.contains("size") &&
      (!desc["size"].is_number_unsigned() || desc["size"].get<uint64_t>() != text.size()))
    throw Error(src.path().string() + ": blob " + digest + " has the wrong size");
  return text;
}

ArchivedImage image_from_oci_manifest(ArchiveSource& src, const json& m, std::vector<std::string> tags) {
  ArchivedImage img;
  const json& cfg = m.at("config");
  img.config_digest = cfg.at("digest").get<std::string>();
  img.config_name = "blobs/sha256/" + digest_hex(*img.config_digest);
  img.tags = std::move(tags);
  for (const json& l : m.at("layers")) {
    LayerBlob b;
    b.digest = l.at("digest").get<std::string>();
    b.name = "blobs/sha256/" + digest_hex(*b.digest);
    b.media_type = l.value("mediaType", "");
    if (!is_layer_media_type(b.media_type))
      throw Error(src.path().string() + ": unsupported layer media type " + b.media_type);
    img.layers.push_back(std::move(b));
  }
  return img;
}

bool platform_matches(const json& desc) {
  if (!desc.contains("platform")) return true;
  const json& p = desc["platform"];
  return p.value("os", "linux") == "linux" && p.value("architecture", host_arch()) == host_arch();
}

void walk_oci_descriptors(ArchiveSource& src, const json& index,
                          const std::vector<std::string>& inherited_tags, const std::string& default_name,
                          int depth, size_t& visited, std::vector<ArchivedImage>& out) {
  if (depth > kMaxIndexDepth) throw Error(src.path().string() + ": image indexes nested too deeply");
  for (const json& desc : index.at("manifests")) {
    if (!platform_matches(desc)) continue;
    if (++visited > kMaxManifests)
      throw Error(src.path().string() + ": more than " + std::to_string(kMaxManifests) + " manifests");
    std::vector<std::string> tags = tags_from_annotations(desc, default_name);
    if (tags.empty()) tags = inherited_tags;
    std::string text = read_verified_blob(src, desc);
    json j = parse_json(text, src.path().string() + ": manifest " + desc.at("digest").get<std::string>());
    std::string mt = desc.value("mediaType", j.value("mediaType", ""));
    if (is_index_media_type(mt) || (mt.empty() && j.contains("manifests")))
      walk_oci_descriptors(src, j, tags, default_name, depth + 1, visited, out);
    else
      out.push_back(image_from_oci_manifest(src, j, tags));
  }
}

std::vector<ArchivedImage> list_docker_save(ArchiveSource& src) {
  json manifest = parse_json(src.read_small("manifest.json"), src.path().string() + ": manifest.json");
  if (!manifest.is_array()) throw Error(src.path().string() + ": manifest.json is not a list");
  if (manifest.size() > kMaxManifests)
    throw Error(src.path().string() + ": manifest.json lists more than " + std::to_string(kMaxManifests) +
                " images");
  std::vector<ArchivedImage> out;
  for (const json& m : manifest) {
    ArchivedImage img;
    img.config_name = normalize_archive_name(m.at("Config").get<std::string>());
    img.config_digest = digest_from_name(img.config_name);
    if (m.contains("RepoTags") && m["RepoTags"].is_array())
      for (const json& t : m["RepoTags"]) img.tags.push_back(parse_reference(t.get<std::string>()).str());
    for (const json& l : m.at("Layers")) {
      LayerBlob b;
      b.name = normalize_archive_name(l.get<std::string>());
      if (b.name.starts_with("blobs/"))
        b.digest = digest_from_name(b.name);  // newer docker save names blobs by digest
      img.layers.push_back(std::move(b));
    }
    out.push_back(std::move(img));
  }
  return out;
}

// The same image listed several times (one index entry per tag): one image, all tags.
std::vector<ArchivedImage> merge_by_config(std::vector<ArchivedImage> in) {
  std::vector<ArchivedImage> out;
  for (auto& img : in) {
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const ArchivedImage& o) { return o.config_name == img.config_name; });
    if (same == out.end()) {
      out.push_back(std::move(img));
      continue;
    }
    for (auto& t : img.tags)
      if (std::find(same->tags.begin(), same->tags.end(), t) == same->tags.end()) same->tags.push_back(t);
  }
  return out;
}

}  // namespace

std::vector<ArchivedImage> list_archived_images(ArchiveSource& src, const std::string& default_name) {
  try {
    std::vector<ArchivedImage> images;
    if (src.has("manifest.json")) {
      images = list_docker_save(src);
    } else if (src.has("index.json")) {
      json index = parse_json(src.read_small("index.json"), src.path().string() + ": index.json");
      size_t visited = 0;
      walk_oci_descriptors(src, index, {}, default_name, 0, visited, images);
    } else {
      throw Error(src.path().string() + ": not an image archive (no index.json or manifest.json)");
    }
    return merge_by_config(std::move(images));
  } catch (const json::exception& e) {
    throw Error(src.path().string() + ": invalid image metadata: " + e.what());
  }
}

void read_image_configs(ArchiveSource& src, std::vector<ArchivedImage>& images, size_t max_layers) {
  for (auto& img : images) {
    if (img.layers.size() > max_layers)
      throw Error(src.path().string() + ": image has " + std::to_string(img.layers.size()) +
                  " layers, more than the limit of " + std::to_string(max_layers));
    img.config_json = src.read_small(img.config_name);
    img.id = sha256_digest(img.config_json);
    if (img.config_digest && img.id != *img.config_digest)
      throw Error(src.path().string() + ": image config " + *img.config_digest +
                  " is corrupt (it hashes to " + img.id + ")");
    try {
      json cfg = parse_json(img.config_json, src.path().string() + ": image config " + img.id);
      const json& ids = cfg.at("rootfs").at("diff_ids");
      if (ids.size() != img.layers.size())
        throw Error(src.path().string() + ": image config lists " + std::to_string(ids.size()) +
                    " layers but the manifest has " + std::to_string(img.layers.size()));
      for (size_t i = 0; i < ids.size(); ++i) {
        img.layers[i].diff_id = ids[i].get<std::string>();
        digest_hex(img.layers[i].diff_id);  // validates
      }
    } catch (const json::exception& e) {
      throw Error(src.path().string() + ": invalid image config " + img.id + ": " + e.what());
    }
  }
}

}  // namespace mctr::image
