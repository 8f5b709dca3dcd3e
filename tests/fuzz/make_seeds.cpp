// Writes the fuzzers' starting corpus: small, valid inputs of each format the
// parsers take, so the fuzzers begin deep inside them (a valid manifest, a
// layer that unpacks, a model that loads) instead of at the magic bytes.
//
//   fuzz_make_seeds DIR   -> DIR/image_archive/*, DIR/gguf/*
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "image/archive_builder.h"
#include "model/gguf.h"
#include "model/synthetic.h"

namespace {

namespace sfs = std::filesystem;
using namespace mctr::image::test;
namespace test = mctr::image::test;
using json = nlohmann::json;

// One layer with every kind of entry the unpacker handles.
std::vector<TarEntry> rich_layer() {
  TarEntry fifo;
  fifo.name = "run/fifo";
  fifo.type = AE_IFIFO;
  TarEntry xattr = file("etc/cap", "x", 04755);
  xattr.xattrs["user.comment"] = "hi";
  TarEntry sparse = file("var/sparse", "");
  sparse.declared_size = 4096;
  return {dir("etc", 0755),
          file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
          xattr,
          test::symlink("bin", "usr/bin"),
          dir("usr/bin"),
          file("usr/bin/sh", "#!", 0755),
          hardlink("usr/bin/ash", "usr/bin/sh"),
          fifo,
          file("var/.wh.gone", ""),
          file("opt/.wh..wh..opq", ""),
          sparse};
}

ImageSpec image(std::vector<Layer> layers, std::string tag) {
  ImageSpec img;
  img.layers = std::move(layers);
  img.tags = {std::move(tag)};
  return img;
}

// docker save's old layout, but with names that carry no digest, so the
// fuzzer's changes to manifest.json and the config reach the JSON readers
// and the unpacker (OCI manifests and configs are digest-checked first).
std::string docker_save_plain(const ImageSpec& img) {
  std::map<std::string, std::string> files;
  json layers = json::array();
  for (size_t i = 0; i < img.layers.size(); i++) {
    std::string name = "l" + std::to_string(i) + "/layer.tar";
    files[name] = img.layers[i].blob;
    layers.push_back(name);
  }
  files["config.json"] = config_json(img);
  files["manifest.json"] =
      json::array({{{"Config", "config.json"}, {"RepoTags", img.tags}, {"Layers", layers}}}).dump();
  return outer_tar(files);
}

void write(const sfs::path& p, const std::string& bytes) {
  write_file(p, bytes);
  std::printf("%s (%zu bytes)\n", p.c_str(), bytes.size());
}

void image_seeds(const sfs::path& out) {
  sfs::create_directories(out);
  Layer plain = make_layer(rich_layer(), Compression::none);
  Layer gz = make_layer({file("a", "hello\n"), dir("d"), test::symlink("d/s", "/a")}, Compression::gzip);
  Layer zst = make_layer({file("z", "zstd layer\n")}, Compression::zstd);
  write(out / "docker-plain.tar", docker_save_plain(image({plain}, "fuzz:plain")));
  write(out / "docker-plain-2layers.tar", docker_save_plain(image({gz, zst}, "fuzz:two")));
  write(out / "oci.tar", oci_archive({image({gz}, "fuzz:oci")}));
  write(out / "oci-2images.tar", oci_archive({image({plain}, "fuzz:a"), image({zst, gz}, "fuzz:b")}));
  write(out / "docker-legacy.tar", docker_save_legacy({image({zst}, "fuzz:legacy")}));
  write(out / "docker-blobs.tar", docker_save_blobs({image({gz}, "fuzz:blobs")}));
  write(out / "oci.tar.gz", compress(oci_archive({image({zst}, "fuzz:gz")}), Compression::gzip));
}

void gguf_seeds(const sfs::path& dir) {
  using namespace mctr::infer;
  sfs::create_directories(dir);
  SyntheticShape tiny;
  tiny.dim = 32;
  tiny.hidden_dim = 64;
  tiny.n_layers = 1;
  tiny.n_heads = 4;
  tiny.n_kv_heads = 2;
  tiny.n_vocab = 260;
  tiny.ctx_len = 8;
  write_synthetic_model((dir / "tiny-q8_0.gguf").string(), tiny, GgmlType::Q8_0, 1);
  std::printf("%s\n", (dir / "tiny-q8_0.gguf").c_str());
  SyntheticShape small = tiny;
  small.dim = 8;
  small.hidden_dim = 16;
  small.n_heads = 2;
  small.n_kv_heads = 1;
  write_synthetic_model((dir / "tiny-f16.gguf").string(), small, GgmlType::F16, 2);
  write_synthetic_model((dir / "tiny-f32.gguf").string(), small, GgmlType::F32, 3);
  std::printf("%s\n%s\n", (dir / "tiny-f16.gguf").c_str(), (dir / "tiny-f32.gguf").c_str());

  // Metadata of every value type, and a tensor table, without a model.
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_uint32("general.alignment", 32);
  w.add_float32("f", 1.5f);
  w.add_bool("b", true);
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "<0x41>", "\xe2\x96\x81hi", "h", "i"});
  w.add_floats("tokenizer.ggml.scores", {0, 0, 0, 0, -1, -2, -3});
  w.add_int32s("tokenizer.ggml.token_type", {2, 3, 3, 6, 1, 1, 1});
  w.add_tensor("t", {32, 2}, GgmlType::Q8_0, std::vector<uint8_t>(68, 1));
  w.add_tensor("u", {3}, GgmlType::F16, std::vector<uint8_t>(6, 0));
  auto b = w.bytes();
  write(dir / "metadata.gguf", std::string(b.begin(), b.end()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  image_seeds(sfs::path(argv[1]) / "image_archive");
  gguf_seeds(sfs::path(argv[1]) / "gguf");
  return 0;
}
