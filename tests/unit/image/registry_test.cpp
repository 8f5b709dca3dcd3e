// The pure parts of push/pull: remote references, manifests and indexes,
// platform selection, WWW-Authenticate challenges, registry error bodies.
#include <gtest/gtest.h>

#include "image/reference.h"
#include "image/registry_manifest.h"
#include "util/error.h"

using mctr::Error;
using namespace mctr::image;

namespace {
const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');
const std::string kDigestC = "sha256:" + std::string(64, 'c');
}  // namespace

TEST(RemoteReference, RegistryRepositoryTagDigest) {
  RemoteReference r = parse_remote_reference("localhost:5000/a/b:tag@" + kDigestA);
  EXPECT_EQ(r.registry, "localhost:5000");
  EXPECT_EQ(r.repository, "a/b");
  EXPECT_EQ(r.tag, "tag");
  EXPECT_EQ(r.digest, kDigestA);
  EXPECT_EQ(r.manifest_ref(), kDigestA);  // the digest wins: it names exact bytes
  EXPECT_EQ(r.store_tag(), "localhost:5000/a/b:tag");
}

TEST(RemoteReference, DockerHubDefaults) {
  RemoteReference r = parse_remote_reference("busybox");
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "library/busybox");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.store_tag(), "busybox:latest");
  r = parse_remote_reference("team/app:v1");  // "team" has no '.' or ':': a path, not a host
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "team/app");
  r = parse_remote_reference("docker.io/library/busybox:1.36");
  EXPECT_EQ(r.repository, "library/busybox");
  EXPECT_EQ(r.store_tag(), "busybox:1.36");
  r = parse_remote_reference("localhost/app");
  EXPECT_EQ(r.registry, "localhost");
  EXPECT_EQ(r.repository, "app");
}

TEST(RemoteReference, DigestOnlyHasNoTag) {
  RemoteReference r = parse_remote_reference("127.0.0.1:5000/x@" + kDigestB);
  EXPECT_EQ(r.registry, "127.0.0.1:5000");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.store_tag(), "");
  EXPECT_EQ(r.manifest_ref(), kDigestB);
}

TEST(RemoteReference, Refuses) {
  EXPECT_THROW(parse_remote_reference("UPPER/case"), Error);
  EXPECT_THROW(parse_remote_reference("x@sha512:" + std::string(128, 'a')), Error);  // only sha256
  EXPECT_THROW(parse_remote_reference("x@sha256:abc"), Error);
  EXPECT_THROW(parse_remote_reference(""), Error);
}

TEST(Manifest, OciImage) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                     kDigestA + R"(","size":10},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                     kDigestB + R"(","size":20}]})";
  Manifest m = parse_manifest(body, "");
  EXPECT_FALSE(m.is_index);
  EXPECT_EQ(m.config.digest, kDigestA);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].size, 20u);
}

TEST(Manifest, DockerSchema2LayersBecomeOciTypes) {
  // No mediaType in the body: the Content-Type says what it is.
  std::string body = R"({"schemaVersion":2,
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                     kDigestA + R"(","size":10},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
                     kDigestB + R"(","size":20}]})";
  Manifest m = parse_manifest(body, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
  EXPECT_EQ(m.media_type, media::kDockerManifest);
  EXPECT_EQ(m.layers.at(0).media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
}

TEST(Manifest, Refuses) {
  EXPECT_THROW(parse_manifest(R"({"schemaVersion":1,"fsLayers":[]})", ""), Error);
  EXPECT_THROW(parse_manifest("not json", ""), Error);
  std::string bad_digest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"x","digest":"md5:00","size":1},"layers":[]})";
  EXPECT_THROW(parse_manifest(bad_digest, ""), Error);
  std::string foreign =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"x","digest":")" +
      kDigestA +
      R"(","size":1},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":")" +
      kDigestB + R"(","size":1}]})";
  EXPECT_THROW(parse_manifest(foreign, ""), Error);
}

TEST(Manifest, IndexPicksLinuxAmd64) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                     kDigestA +
                     R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                     kDigestB +
                     R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                     kDigestC + R"(","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]})";
  Manifest m = parse_manifest(body, "");
  ASSERT_TRUE(m.is_index);
  EXPECT_EQ(select_platform(m, "linux", "amd64").digest, kDigestB);
  EXPECT_EQ(select_platform(m, "linux", "arm64").digest, kDigestA);
  try {
    select_platform(m, "linux", "s390x");
    FAIL() << "no s390x entry";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linux/arm64/v8, linux/amd64"), std::string::npos) << e.what();
  }
}

TEST(Manifest, MadeOciManifestParsesBack) {
  Descriptor cfg{media::kOciConfig, kDigestA, 5, {}, {}, {}};
  Descriptor layer{"application/vnd.oci.image.layer.v1.tar", kDigestB, 7, {}, {}, {}};
  Manifest m = parse_manifest(make_oci_manifest(cfg, {layer}), "");
  EXPECT_EQ(m.media_type, media::kOciManifest);
  EXPECT_EQ(m.config.digest, kDigestA);
  EXPECT_EQ(m.layers.at(0).size, 7u);
}

TEST(WwwAuthenticate, BearerChallenge) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c->params["service"], "registry.docker.io");
  EXPECT_EQ(c->params["scope"], "repository:library/busybox:pull");
}

TEST(WwwAuthenticate, QuotingAndCase) {
  auto c = parse_www_authenticate(R"(BASIC Realm="a \"quoted\", realm" , charset=UTF-8)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params["realm"], R"(a "quoted", realm)");
  EXPECT_EQ(c->params["charset"], "UTF-8");
  EXPECT_FALSE(parse_www_authenticate(""));
  EXPECT_FALSE(parse_www_authenticate(R"(Bearer realm="unterminated)"));
}

TEST(RegistryError, MessageCodeStatus) {
  EXPECT_EQ(
      registry_error_text(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"),
      "manifest unknown (MANIFEST_UNKNOWN, 404)");
  EXPECT_EQ(registry_error_text(401, R"({"errors":[{"code":"UNAUTHORIZED"}]})"),
            "UNAUTHORIZED (UNAUTHORIZED, 401)");
  EXPECT_EQ(registry_error_text(502, "<html>bad gateway</html>"), "HTTP status 502");
}
