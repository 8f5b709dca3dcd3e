// Every archive format and compression the store reads.
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "fixture.h"
#include "image/layer_unpack.h"
#include "util/error.h"

using json = nlohmann::json;

namespace mctr::image::test {

ImageSpec busyboxish(Compression c = Compression::gzip) {
  ImageSpec img;
  img.layers.push_back(
      make_layer({dir("bin"), file("bin/sh", "#!shell", 0755), file("etc/hostname", "box\n")}, c));
  img.tags = {"demo:1.0"};
  img.config = {{"Env", {"PATH=/bin", "A=b"}},
                {"Entrypoint", {"/bin/sh", "-c"}},
                {"Cmd", {"echo hi"}},
                {"WorkingDir", "/work"},
                {"User", "1000:1000"},
                {"ExposedPorts", {{"8080/tcp", json::object()}}},
                {"Volumes", {{"/data", json::object()}}},
                {"Labels", {{"k", "v"}}}};
  return img;
}

void expect_loaded(const std::vector<Image>& images, const std::filesystem::path& root,
                   const ImageSpec& spec) {
  ASSERT_EQ(images.size(), 1u);
  const Image& img = images[0];
  EXPECT_EQ(img.id, sha256_digest(config_json(spec)));
  EXPECT_EQ(img.repo_tags, spec.tags);
  ASSERT_EQ(img.layer_dirs.size(), spec.layers.size());
  EXPECT_EQ(img.layer_dirs[0], root / "layers" / spec.layers[0].diff_id.substr(7));
  EXPECT_EQ(mctr::fs::read_file(img.layer_dirs[0] / "etc/hostname"), "box\n");
  EXPECT_EQ(lstat_of(img.layer_dirs[0] / "bin/sh").st_mode & 07777, 0755u);
  EXPECT_EQ(img.config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(img.config.cmd, std::vector<std::string>{"echo hi"});
  EXPECT_EQ(img.config.env, (std::vector<std::string>{"PATH=/bin", "A=b"}));
  EXPECT_EQ(img.config.working_dir, "/work");
  EXPECT_EQ(img.config.user, "1000:1000");
  EXPECT_EQ(img.config.exposed_ports, std::vector<std::string>{"8080/tcp"});
  EXPECT_EQ(img.config.volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(img.config.labels.at("k"), "v");
  EXPECT_EQ(img.architecture, "amd64");
  EXPECT_EQ(img.os, "linux");
  EXPECT_EQ(img.size, 7u + 4u);
}

TEST_F(StoreTest, LoadsOciArchiveGzip) {
  ImageSpec spec = busyboxish(Compression::gzip);
  Store store(root_);
  expect_loaded(store.load(archive("a.tar", oci_archive({spec}))), root_, spec);
  EXPECT_EQ(count("tmp"), 0u);
}

TEST_F(StoreTest, LoadsOciArchiveZstd) {
  ImageSpec spec = busyboxish(Compression::zstd);
  Store store(root_);
  expect_loaded(store.load(archive("a.tar", oci_archive({spec}))), root_, spec);
}

TEST_F(StoreTest, LoadsOciArchivePlainLayers) {
  ImageSpec spec = busyboxish(Compression::none);
  Store store(root_);
  expect_loaded(store.load(archive("a.tar", oci_archive({spec}))), root_, spec);
}

TEST_F(StoreTest, LoadsGzippedOuterArchive) {  // `docker save | gzip`
  ImageSpec spec = busyboxish(Compression::none);
  Store store(root_);
  expect_loaded(store.load(archive("a.tar.gz", compress(docker_save_legacy({spec}), Compression::gzip))),
                root_, spec);
}

TEST_F(StoreTest, LoadsDockerSaveLegacy) {
  ImageSpec spec = busyboxish(Compression::none);
  Store store(root_);
  expect_loaded(store.load(archive("a.tar", docker_save_legacy({spec}))), root_, spec);
}

TEST_F(StoreTest, LoadsDockerSaveWithBlobs) {
  ImageSpec spec = busyboxish(Compression::none);
  Store store(root_);
  expect_loaded(store.load(archive("a.tar", docker_save_blobs({spec}))), root_, spec);
}

TEST_F(StoreTest, LoadsOciLayoutDirectory) {
  ImageSpec spec = busyboxish();
  auto tar = archive("a.tar", oci_archive({spec}));
  auto dir = tmp_ / "layout";
  std::filesystem::create_directory(dir);
  ASSERT_EQ(std::system(("tar -xf " + tar.string() + " -C " + dir.string()).c_str()), 0);
  Store store(root_);
  expect_loaded(store.load(dir), root_, spec);
}

TEST_F(StoreTest, MultiImageArchivePicksTagAndSharesLayers) {
  Layer base = make_layer({file("base", "b")});
  ImageSpec a, b;
  a.layers = {base, make_layer({file("a", "a")})};
  a.tags = {"app:a"};
  b.layers = {base, make_layer({file("b", "b")})};
  b.tags = {"app:b", "other:latest"};
  auto path = archive("multi.tar", oci_archive({a, b}));
  Store store(root_);
  // FILE.tar:tag loads only that image.
  Image got = store.resolve(path.string() + ":b");
  EXPECT_EQ(got.repo_tags, (std::vector<std::string>{"app:b", "other:latest"}));
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_THROW(store.resolve(path.string() + ":nope"), Error);
  // Loading everything: the base layer is unpacked once, shared.
  EXPECT_EQ(store.load(path).size(), 2u);
  EXPECT_EQ(count("layers"), 3u * 2);  // 3 dirs + 3 .json
  EXPECT_EQ(store.find("app:a")->layer_dirs[0], store.find("other")->layer_dirs[0]);
  // A multi-image archive cannot be run without picking one.
  EXPECT_THROW(store.resolve(path.string()), Error);
}

TEST_F(StoreTest, ResolveLoadsArchivePathImplicitly) {
  ImageSpec spec = busyboxish();
  auto path = archive("busy.tar", oci_archive({spec}));
  Store store(root_);
  EXPECT_FALSE(store.find("demo:1.0"));
  Image img = store.resolve(path.string());
  EXPECT_EQ(img.repo_tags, spec.tags);
  EXPECT_TRUE(store.find("demo:1.0"));
  EXPECT_EQ(store.find(img.id.substr(7, 6))->id, img.id);  // id prefix
  EXPECT_EQ(store.find(img.id)->id, img.id);
  EXPECT_EQ(store.resolve(path.string()).id, img.id);  // again: no error, same image
  EXPECT_THROW(store.resolve("does-not-exist"), Error);
}

TEST_F(StoreTest, BareOciRefNameUsesArchiveName) {
  ImageSpec spec = busyboxish();
  spec.tags = {};
  std::string tar = oci_archive({spec});
  // Rewrite the index with only a bare tag, as `skopeo copy ... oci:dir:v2` writes it.
  auto path = archive("My_App.tar", tar);
  ASSERT_EQ(std::system(("cd " + tmp_.string() + " && mkdir x && tar -xf My_App.tar -C x").c_str()), 0);
  auto index = json::parse(mctr::fs::read_file(tmp_ / "x/index.json"));
  index["manifests"][0]["annotations"] = {{"org.opencontainers.image.ref.name", "v2"}};
  write_file(tmp_ / "x/index.json", index.dump());
  Store store(root_);
  auto images = store.load(tmp_ / "x");
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0].repo_tags, std::vector<std::string>{"x:v2"});
}

TEST_F(StoreTest, WhiteoutsBecomeOverlayWhiteoutsAndOverlayHonoursThem) {
  ImageSpec spec;
  Layer lower = make_layer(
      {dir("etc"), file("etc/gone", "x"), file("etc/kept", "k"), dir("opq"), file("opq/hidden", "h")});
  Layer upper = make_layer(
      {dir("etc"), file("etc/.wh.gone", ""), dir("opq"), file("opq/.wh..wh..opq", ""), file("opq/new", "n")});
  spec.layers = {lower, upper};
  spec.tags = {"wh:latest"};
  Store store(root_);
  Image img = store.load(archive("wh.tar", oci_archive({spec})))[0];
  struct stat st = lstat_of(img.layer_dirs[1] / "etc/gone");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(std::filesystem::exists(img.layer_dirs[1] / "etc/.wh.gone"));
  char v[8] = {};
  EXPECT_EQ(::getxattr((img.layer_dirs[1] / "opq").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');

  // The real check: overlayfs with these lower dirs shows what the image means.
  auto merged = tmp_ / "merged";
  std::filesystem::create_directory(merged);
  std::string opts = "lowerdir=" + img.layer_dirs[1].string() + ":" + img.layer_dirs[0].string();
  ASSERT_EQ(::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()), 0) << strerror(errno);
  EXPECT_FALSE(std::filesystem::exists(merged / "etc/gone"));
  EXPECT_TRUE(std::filesystem::exists(merged / "etc/kept"));
  EXPECT_FALSE(std::filesystem::exists(merged / "opq/hidden"));
  EXPECT_TRUE(std::filesystem::exists(merged / "opq/new"));
  ::umount2(merged.c_str(), MNT_DETACH);
}

TEST_F(StoreTest, KeepsHardlinksSymlinksOwnersModesSetuidXattrsMtimes) {
  TarEntry suid = file("bin/su", "su-binary", 04755);
  suid.uid = 0;
  TarEntry owned = file("home/u/f", "data", 0640);
  owned.uid = 1234;
  owned.gid = 5678;
  owned.mtime = 1111111111;
  owned.xattrs = {{"user.note", "hello"}};
  TarEntry sgid_dir = dir("shared", 02775);
  sgid_dir.mtime = 1222222222;
  TarEntry fifo;
  fifo.name = "run/fifo";
  fifo.type = AE_IFIFO;
  ImageSpec spec;
  spec.layers = {
      make_layer({dir("bin"), suid, hardlink("bin/su-link", "bin/su"), symlink("bin/abs", "/etc/passwd"),
                  symlink("bin/rel", "../../../../x"), owned, sgid_dir, file("shared/a", "a"), fifo})};
  spec.tags = {"meta:1"};
  Store store(root_);
  auto d = store.load(archive("m.tar", oci_archive({spec})))[0].layer_dirs[0];
  struct stat su = lstat_of(d / "bin/su"), link = lstat_of(d / "bin/su-link");
  EXPECT_EQ(su.st_mode & 07777, 04755u);
  EXPECT_EQ(su.st_ino, link.st_ino);
  EXPECT_EQ(su.st_nlink, 2u);
  EXPECT_EQ(std::filesystem::read_symlink(d / "bin/abs"), "/etc/passwd");
  EXPECT_EQ(std::filesystem::read_symlink(d / "bin/rel"), "../../../../x");
  struct stat f = lstat_of(d / "home/u/f");
  EXPECT_EQ(f.st_uid, 1234u);
  EXPECT_EQ(f.st_gid, 5678u);
  EXPECT_EQ(f.st_mode & 07777, 0640u);
  EXPECT_EQ(f.st_mtim.tv_sec, 1111111111);
  char buf[16] = {};
  EXPECT_EQ(::lgetxattr((d / "home/u/f").c_str(), "user.note", buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  struct stat sd = lstat_of(d / "shared");
  EXPECT_EQ(sd.st_mode & 07777, 02775u);
  EXPECT_EQ(sd.st_mtim.tv_sec, 1222222222);  // set after its children were written
  EXPECT_TRUE(S_ISFIFO(lstat_of(d / "run/fifo").st_mode));
  EXPECT_TRUE(S_ISDIR(lstat_of(d / "home/u").st_mode));  // parents the tar did not list
}

TEST_F(StoreTest, TarWithoutEndBlocksLikeUmociInsert) {
  std::string data(1000, 'u');
  std::string tar = make_tar({dir("bin"), file("bin/tool", data, 0755)});
  tar.resize(tar.find(data) + data.size());  // cut the padding and the end-of-archive blocks
  ImageSpec spec;
  Layer l;
  l.blob = compress(tar, Compression::gzip);
  l.digest = sha256_digest(l.blob);
  l.diff_id = sha256_digest(tar);
  l.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  spec.layers = {l};
  Store store(root_);
  auto d = store.load(archive("u.tar", oci_archive({spec})))[0].layer_dirs[0];
  EXPECT_EQ(mctr::fs::read_file(d / "bin/tool"), data);
}

}  // namespace mctr::image::test
