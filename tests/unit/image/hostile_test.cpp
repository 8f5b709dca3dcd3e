// Corrupt and hostile archives: each must fail with one clear error, write
// nothing outside the layer directory, and leave no partial layer or image.
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "fixture.h"
#include "util/error.h"

using json = nlohmann::json;

namespace mctr::image::test {

class HostileTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped()) return;
    outside_ = tmp_ / "outside";
    std::filesystem::create_directory(outside_);
    write_file(outside_ / "victim", "original");
  }
  // Load a one-layer image made of `entries`; return the error text ("" = loaded).
  std::string load_layer(const std::vector<TarEntry>& entries, const LoadLimits& limits = {}) {
    ImageSpec spec;
    spec.layers = {make_layer(entries)};
    spec.tags = {"hostile:latest"};
    return load_bytes(oci_archive({spec}), limits);
  }
  std::string load_bytes(const std::string& bytes, const LoadLimits& limits = {}) {
    try {
      Store(root_).load(archive("h.tar", bytes), std::nullopt, limits);
      return "";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "error must be one line";
      EXPECT_EQ(e.exit_code(), 125);
      return e.what();
    }
  }
  void expect_outside_untouched() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(outside_)) ++n;
    EXPECT_EQ(n, 1u) << "something was written outside the layer";
    EXPECT_EQ(mctr::fs::read_file(outside_ / "victim"), "original");
    EXPECT_EQ(lstat_of(outside_ / "victim").st_nlink, 1u);
  }
  std::filesystem::path outside_;
};

TEST_F(HostileTest, DotDotEntryIsRefused) {
  std::string err = load_layer({file("../../outside/evil", "x"), file("a/../../outside/evil2", "x")});
  EXPECT_NE(err.find(".."), std::string::npos) << err;
  expect_outside_untouched();
  expect_store_empty();
}

TEST_F(HostileTest, AbsolutePathsStayInsideTheLayer) {
  std::string abs = (outside_ / "evil").string();
  EXPECT_EQ(load_layer({file(abs, "x")}), "");
  expect_outside_untouched();
  auto img = Store(root_).find("hostile");
  ASSERT_TRUE(img);
  EXPECT_TRUE(std::filesystem::exists(img->layer_dirs[0] / abs.substr(1)));
}

TEST_F(HostileTest, WritingThroughSymlinkToOutsideStaysInside) {
  // esc -> the real outside dir (absolute) and rel -> ../../..: followed inside the layer only.
  std::string err = load_layer({symlink("esc", outside_.string()), file("esc/evil", "x"),
                                symlink("rel", "../../../../../../" + outside_.string()),
                                file("rel/evil2", "x"), file("esc/victim", "overwritten")});
  expect_outside_untouched();
  if (err.empty()) {
    auto d = Store(root_).find("hostile")->layer_dirs[0];
    EXPECT_TRUE(std::filesystem::is_symlink(d / "esc"));
  }
}

TEST_F(HostileTest, SymlinkThenFileWithSameNameDoesNotFollow) {
  // The file replaces the symlink; the symlink's target is never opened.
  EXPECT_EQ(load_layer({symlink("victim", (outside_ / "victim").string()), file("victim", "overwritten")}),
            "");
  expect_outside_untouched();
}

TEST_F(HostileTest, HardlinkToOutsideIsRefused) {
  std::string err = load_layer({hardlink("l1", (outside_ / "victim").string())});
  EXPECT_NE(err, "");
  err = load_layer({symlink("s", outside_.string()), hardlink("l2", "s/victim")});
  EXPECT_NE(err, "");
  err = load_layer({hardlink("l3", "../../outside/victim")});
  EXPECT_NE(err, "");
  expect_outside_untouched();
  expect_store_empty();
}

TEST_F(HostileTest, WhiteoutCannotDeleteOutside) {
  load_layer({symlink("s", outside_.string()), file("s/.wh.victim", "")});
  load_layer({file(".wh..", "")});
  load_layer({file("../outside/.wh.victim", "")});
  expect_outside_untouched();
}

TEST_F(HostileTest, TrustedOverlayXattrsFromTheImageAreDropped) {
  TarEntry d = dir("etc");
  d.xattrs = {{"trusted.overlay.redirect", "/elsewhere"}};
  EXPECT_EQ(load_layer({d}), "");
  auto p = Store(root_).find("hostile")->layer_dirs[0] / "etc";
  char buf[64];
  EXPECT_LT(::getxattr(p.c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);
}

TEST_F(HostileTest, DecompressionBombStops) {
  LoadLimits limits;
  limits.max_unpacked_bytes = 8 << 20;
  std::string err = load_layer({file("zeros", std::string(64 << 20, '\0'))}, limits);
  EXPECT_NE(err.find("limit"), std::string::npos) << err;
  expect_store_empty();
}

TEST_F(HostileTest, TooManyEntriesStops) {
  LoadLimits limits;
  limits.max_entries = 50;
  std::vector<TarEntry> many;
  for (int i = 0; i < 100; ++i) many.push_back(file("f" + std::to_string(i), ""));
  std::string err = load_layer(many, limits);
  EXPECT_NE(err.find("entries"), std::string::npos) << err;
  expect_store_empty();
}

TEST_F(HostileTest, MoreThan125LayersRefused) {
  ImageSpec spec;
  for (int i = 0; i < 126; ++i) spec.layers.push_back(make_layer({file("f" + std::to_string(i), "x")}));
  std::string err = load_bytes(oci_archive({spec}));
  EXPECT_NE(err.find("125"), std::string::npos) << err;
  expect_store_empty();
  spec.layers.pop_back();
  EXPECT_EQ(load_bytes(oci_archive({spec})), "");  // 125 is fine
}

TEST_F(HostileTest, BlobDigestMismatch) {
  ImageSpec spec;
  Layer l = make_layer({file("a", "a")});
  Layer other = make_layer({file("a", "b")});
  l.blob = other.blob;  // stored under l's digest, but different bytes
  spec.layers = {l};
  std::string err = load_bytes(oci_archive({spec}));
  EXPECT_NE(err.find("digest mismatch"), std::string::npos) << err;
  expect_store_empty();
}

TEST_F(HostileTest, DiffIdMismatch) {
  ImageSpec spec;
  spec.layers = {make_layer({file("a", "a")})};
  spec.diff_ids = std::vector<std::string>{make_layer({file("a", "b")}).diff_id};
  std::string err = load_bytes(oci_archive({spec}));
  EXPECT_NE(err.find("diffID mismatch"), std::string::npos) << err;
  expect_store_empty();
  // docker save (no blob digests): the diffID is the only check, and it holds.
  err = load_bytes(docker_save_legacy({spec}));
  EXPECT_NE(err.find("diffID mismatch"), std::string::npos) << err;
  expect_store_empty();
}

TEST_F(HostileTest, ConfigDigestMismatch) {
  ImageSpec spec;
  spec.layers = {make_layer({file("a", "a")})};
  std::string tar = oci_archive({spec});
  std::string cfg = config_json(spec);
  size_t at = tar.find(cfg);
  ASSERT_NE(at, std::string::npos);
  tar[at + cfg.find("amd64")] = 'X';  // same size, different bytes
  std::string err = load_bytes(tar);
  EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
  expect_store_empty();
}

TEST_F(HostileTest, MissingBlob) {
  ImageSpec spec;
  spec.layers = {make_layer({file("a", "a")})};
  std::string tar = oci_archive({spec});
  // Rebuild the archive without the layer blob.
  std::map<std::string, std::string> files;
  ASSERT_EQ(std::system(("mkdir " + (tmp_ / "x").string() + " && cd " + (tmp_ / "x").string() +
                         " && tar -xf " + archive("full.tar", tar).string() + " && rm blobs/sha256/" +
                         spec.layers[0].digest.substr(7))
                            .c_str()),
            0);
  std::string err;
  try {
    Store(root_).load(tmp_ / "x");
  } catch (const Error& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
  expect_store_empty();
}

TEST_F(HostileTest, TruncatedArchive) {
  ImageSpec spec;
  spec.layers = {make_layer({file("big", std::string(1 << 20, 'q'))}, Compression::none)};
  std::string tar = docker_save_legacy({spec});
  std::string err = load_bytes(tar.substr(0, tar.size() / 2));
  EXPECT_NE(err, "");
  expect_store_empty();
}

TEST_F(HostileTest, TruncatedGzipLayer) {
  ImageSpec spec;
  Layer l = make_layer({file("big", std::string(1 << 20, 'q'))});
  l.blob.resize(l.blob.size() / 2);
  l.digest = sha256_digest(l.blob);  // the digest matches the cut blob: only the stream is broken
  spec.layers = {l};
  std::string err = load_bytes(oci_archive({spec}));
  EXPECT_NE(err, "");
  expect_store_empty();
}

TEST_F(HostileTest, InvalidJson) {
  std::string err = load_bytes(outer_tar({{"index.json", "{not json"}, {"oci-layout", "{}"}}));
  EXPECT_NE(err.find("invalid JSON"), std::string::npos) << err;
  err = load_bytes(outer_tar({{"manifest.json", "[{\"Config\": 5}]"}}));
  EXPECT_NE(err.find("invalid image metadata"), std::string::npos) << err;
  err = load_bytes(outer_tar({{"hello.txt", "not an image"}}));
  EXPECT_NE(err.find("not an image archive"), std::string::npos) << err;
  err = load_bytes("this is not a tar file at all, just text that is long enough to be bid on.......");
  EXPECT_NE(err, "");
  expect_store_empty();
}

TEST_F(HostileTest, ManifestNamingFilesOutsideTheArchive) {
  std::string err =
      load_bytes(outer_tar({{"manifest.json", R"([{"Config":"../../etc/passwd","Layers":[]}])"}}));
  EXPECT_NE(err, "");
  expect_store_empty();
}

}  // namespace mctr::image::test
