// Layers unpack in parallel, and most entries are created with their final
// owner and mode (no chown/chmod after): a failed layer still takes the whole
// load with it, and every entry still ends up with the tar's owner and mode,
// also where the create call alone would not give it (umask, setgid parent,
// owners other than us).
#include <sys/stat.h>

#include "fixture.h"
#include "util/error.h"

namespace mctr::image::test {

class ParallelLoadTest : public StoreTest {
 protected:
  // Three good layers of some size and one whose blob does not match its digest.
  ImageSpec one_bad_layer() {
    ImageSpec spec;
    for (int i = 0; i < 3; ++i) {
      std::vector<TarEntry> files;
      for (int j = 0; j < 200; ++j)
        files.push_back(file("l" + std::to_string(i) + "/f" + std::to_string(j), std::string(4096, 'a' + i)));
      spec.layers.push_back(make_layer(files));
    }
    Layer bad = make_layer({file("x", "good")});
    bad.blob = make_layer({file("x", "evil")}).blob;
    spec.layers.insert(spec.layers.begin() + 1, bad);
    spec.tags = {"bad:latest"};
    return spec;
  }
  std::string load_error(const std::filesystem::path& what) {
    try {
      Store(root_).load(what);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 125);
      return e.what();
    }
    return "";
  }
};

TEST_F(ParallelLoadTest, BadLayerAmongGoodOnesLeavesNothingFromATar) {
  std::string err = load_error(archive("bad.tar", oci_archive({one_bad_layer()})));
  EXPECT_NE(err.find("digest mismatch"), std::string::npos) << err;
  expect_store_empty();
  EXPECT_EQ(count("tmp"), 0u) << "spooled blobs or half-made layers left in tmp/";
}

// The bad layer fails while good ones are starting, unpacking or renaming
// themselves into place, in a different phase each round (layers of varied
// sizes, the bad one at varied places). The load's error must wait for them:
// the fuzzer found layer threads using load()'s locals after it had thrown
// (AddressSanitizer: stack-use-after-scope; ThreadSanitizer: a race).
TEST_F(ParallelLoadTest, BadLayerRacingGoodOnesLeavesNothingBehind) {
  auto files = [](const std::string& dir, int n, size_t size) {
    std::vector<TarEntry> out;
    for (int j = 0; j < n; ++j) out.push_back(file(dir + "/f" + std::to_string(j), std::string(size, 'x')));
    return out;
  };
  for (int round = 0; round < 40; ++round) {
    ImageSpec spec;
    // Small good layers: most of their time goes to starting and to moving
    // into place, after their last read (where a stopped group is noticed).
    for (int i = 0; i < 6; ++i)
      spec.layers.push_back(make_layer(files("r" + std::to_string(round) + "l" + std::to_string(i),
                                             1 + (round + i) % 4, 100 + static_cast<size_t>(i))));
    // The bad one takes longer or shorter to fail from round to round.
    Layer bad = make_layer(files("bad", 1 + round % 8 * 10, 4096));
    bad.blob = make_layer(files("bad", 1 + round % 8 * 10, 4095)).blob;
    spec.layers.insert(spec.layers.begin() + round % 7, bad);
    spec.tags = {"race:" + std::to_string(round)};
    std::string err = load_error(archive("race.tar", oci_archive({spec})));
    ASSERT_NE(err.find("digest mismatch"), std::string::npos) << "round " << round << ": " << err;
    expect_store_empty();
    if (HasFailure()) FAIL() << "round " << round;
  }
}

TEST_F(ParallelLoadTest, BadLayerAmongGoodOnesLeavesNothingFromALayoutDir) {
  std::filesystem::path tar = archive("bad.tar", oci_archive({one_bad_layer()}));
  std::filesystem::path dir = tmp_ / "layout";
  std::filesystem::create_directory(dir);
  ASSERT_EQ(std::system(("tar -xf " + tar.string() + " -C " + dir.string()).c_str()), 0);
  std::string err = load_error(dir);
  EXPECT_NE(err.find("digest mismatch"), std::string::npos) << err;
  expect_store_empty();
  EXPECT_EQ(count("tmp"), 0u);
}

TEST_F(ParallelLoadTest, OwnersAndModesAreTheTarsEvenWhereCreateAloneWouldDiffer) {
  TarEntry g = dir("g", 02775);
  g.gid = 50;  // setgid: what is made below it gets group 50 unless chowned
  TarEntry in_g = file("g/f", "x", 0644);
  TarEntry link_in_g = symlink("g/l", "f");
  TarEntry open_file = file("wide", "x", 0777);  // the umask (022 in tests) would cut it
  TarEntry open_dir = dir("wide_dir", 0777);
  TarEntry theirs = file("theirs", "x", 0640);
  theirs.uid = 1000;
  theirs.gid = 1000;
  TarEntry suid = file("suid", "x", 04755);
  Layer l = make_layer({g, in_g, link_in_g, open_file, open_dir, theirs, suid});
  ImageSpec spec;
  spec.layers = {l};
  spec.tags = {"modes:latest"};
  mode_t old_umask = ::umask(022);
  Store(root_).load(archive("modes.tar", oci_archive({spec})));
  ::umask(old_umask);
  std::filesystem::path d = layer_dir(l);
  EXPECT_EQ(lstat_of(d / "g").st_mode & 07777, 02775u);
  EXPECT_EQ(lstat_of(d / "g/f").st_gid, 0u) << "took the setgid parent's group";
  EXPECT_EQ(lstat_of(d / "g/l").st_gid, 0u) << "took the setgid parent's group";
  EXPECT_EQ(lstat_of(d / "wide").st_mode & 07777, 0777u);
  EXPECT_EQ(lstat_of(d / "wide_dir").st_mode & 07777, 0777u);
  EXPECT_EQ(lstat_of(d / "theirs").st_uid, 1000u);
  EXPECT_EQ(lstat_of(d / "theirs").st_mode & 07777, 0640u);
  EXPECT_EQ(lstat_of(d / "suid").st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(d / "g/f").st_mtime, 1700000000);
}

}  // namespace mctr::image::test
