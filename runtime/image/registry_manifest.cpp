#include "image/registry_manifest.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "util/error.h"

namespace mctr::image {

using json = nlohmann::json;

std::string manifest_accept_header() {
  return std::string(media::kOciManifest) + ", " + media::kOciIndex + ", " + media::kDockerManifest + ", " +
         media::kDockerList;
}

namespace {

Descriptor parse_descriptor(const json& j, const char* what) {
  if (!j.is_object()) throw Error(std::string("manifest: ") + what + " is not an object");
  Descriptor d;
  d.media_type = j.value("mediaType", "");
  d.digest = j.value("digest", "");
  if (!is_sha256_digest(d.digest))
    throw Error(std::string("manifest: ") + what + " has an unsupported digest \"" + d.digest.substr(0, 80) +
                "\"");
  if (!j.contains("size") || !j["size"].is_number_unsigned())
    throw Error(std::string("manifest: ") + what + " has no size");
  d.size = j["size"].get<uint64_t>();
  if (j.contains("platform") && j["platform"].is_object()) {
    d.os = j["platform"].value("os", "");
    d.architecture = j["platform"].value("architecture", "");
    d.variant = j["platform"].value("variant", "");
  }
  return d;
}

}  // namespace

Manifest parse_manifest(const std::string& body, const std::string& content_type) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) throw Error("manifest: not a JSON object");
  Manifest m;
  m.media_type = j.value("mediaType", "");
  if (m.media_type.empty()) m.media_type = content_type.substr(0, content_type.find(';'));
  if (j.value("schemaVersion", 0) == 1 ||
      m.media_type.starts_with("application/vnd.docker.distribution.manifest.v1"))
    throw Error("manifest: Docker schema 1 manifests are not supported (deprecated since 2017)");
  if (m.media_type.empty()) m.media_type = j.contains("manifests") ? media::kOciIndex : media::kOciManifest;
  if (m.media_type == media::kOciIndex || m.media_type == media::kDockerList) {
    m.is_index = true;
    if (!j.contains("manifests") || !j["manifests"].is_array())
      throw Error("manifest: index without manifests");
    for (const auto& e : j["manifests"]) m.manifests.push_back(parse_descriptor(e, "an index entry"));
    return m;
  }
  if (m.media_type != media::kOciManifest && m.media_type != media::kDockerManifest)
    throw Error("manifest: unsupported media type \"" + m.media_type.substr(0, 100) + "\"");
  if (!j.contains("config")) throw Error("manifest: no config");
  m.config = parse_descriptor(j["config"], "the config");
  if (!j.contains("layers") || !j["layers"].is_array()) throw Error("manifest: no layers");
  for (const auto& e : j["layers"]) {
    Descriptor d = parse_descriptor(e, "a layer");
    d.media_type = oci_layer_media_type(d.media_type);
    m.layers.push_back(d);
  }
  return m;
}

Descriptor select_platform(const Manifest& index, const std::string& os, const std::string& architecture) {
  const Descriptor* found = nullptr;
  std::string have;
  for (const auto& d : index.manifests) {
    if (d.os == "unknown" && d.architecture == "unknown") continue;  // attestations (BuildKit)
    have +=
        (have.empty() ? "" : ", ") + d.os + "/" + d.architecture + (d.variant.empty() ? "" : "/" + d.variant);
    if (d.os != os || d.architecture != architecture) continue;
    if (!found || (!found->variant.empty() && d.variant.empty())) found = &d;
  }
  if (!found)
    throw Error("no matching manifest for " + os + "/" + architecture +
                " in the manifest list entries (it has " + (have.empty() ? std::string("none") : have) + ")");
  return *found;
}

std::string oci_layer_media_type(const std::string& t) {
  if (t == "application/vnd.oci.image.layer.v1.tar" || t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      t == "application/vnd.oci.image.layer.v1.tar+zstd")
    return t;
  if (t == "application/vnd.docker.image.rootfs.diff.tar.gzip")
    return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (t == "application/vnd.docker.image.rootfs.diff.tar") return "application/vnd.oci.image.layer.v1.tar";
  if (t.find("nondistributable") != std::string::npos || t.find("foreign") != std::string::npos)
    throw Error("manifest: foreign (non-distributable) layers are not supported: " + t);
  throw Error("manifest: unsupported layer media type \"" + t.substr(0, 100) + "\"");
}

std::string make_oci_manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
  json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}};
  m["config"] = {{"mediaType", config.media_type}, {"digest", config.digest}, {"size", config.size}};
  m["layers"] = json::array();
  for (const auto& l : layers)
    m["layers"].push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
  return m.dump();
}

std::optional<AuthChallenge> parse_www_authenticate(const std::string& h) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
  };
  skip_space();
  AuthChallenge c;
  while (i < h.size() && std::isalnum(static_cast<unsigned char>(h[i])))
    c.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(h[i++])));
  if (c.scheme.empty()) return std::nullopt;
  while (true) {
    skip_space();
    std::string key;
    while (i < h.size() && h[i] != '=' && h[i] != ',' && h[i] != ' ')
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(h[i++])));
    skip_space();
    if (key.empty() || i >= h.size() || h[i] != '=') break;
    ++i;
    skip_space();
    std::string value;
    if (i < h.size() && h[i] == '"') {
      for (++i; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;  // quoted-pair
        value += h[i];
      }
      if (i >= h.size()) return std::nullopt;  // unterminated quote
      ++i;
    } else {
      while (i < h.size() && h[i] != ',' && h[i] != ' ') value += h[i++];
    }
    c.params[key] = value;
    skip_space();
    if (i < h.size() && h[i] == ',') ++i;
  }
  return c;
}

std::string registry_error_text(long status, const std::string& body) {
  std::string code_text = std::to_string(status);
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object()) {
    const json& e = j["errors"][0];
    std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string message =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (message.empty()) message = code;
    if (!message.empty()) return message + " (" + (code.empty() ? "" : code + ", ") + code_text + ")";
  }
  return "HTTP status " + code_text;
}

}  // namespace mctr::image
