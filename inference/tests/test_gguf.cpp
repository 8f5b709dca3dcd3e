// GGUF parsing: files written in the test, including truncated and lying ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "model/gguf.h"
#include "model/kernels.h"
#include "model/synthetic.h"
#include "util/error.h"

namespace mctr::infer {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/minictr-infer-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!b.empty()) std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

std::vector<uint8_t> small_file() {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_uint32("llama.block_count", 3);
  w.add_float32("llama.rope.freq_base", 500000.0f);
  w.add_bool("tokenizer.ggml.add_bos_token", false);
  w.add_strings("tokenizer.ggml.tokens", {"a", "b", "\xe2\x96\x81hi"});
  w.add_floats("tokenizer.ggml.scores", {0.5f, -1.0f, 2.0f});
  w.add_int32s("tokenizer.ggml.token_type", {1, 1, 6});
  std::vector<float> m = {1, 2, 3, 4, 5, 6};
  w.add_tensor("m.weight", {3, 2}, GgmlType::F32, encode_floats(m.data(), 6, GgmlType::F32));
  std::vector<float> q(64);
  for (int i = 0; i < 64; i++) q[i] = i * 0.25f - 8;
  w.add_tensor("q.weight", {32, 2}, GgmlType::Q8_0, encode_floats(q.data(), 64, GgmlType::Q8_0));
  return w.bytes();
}

TEST(Gguf, ParsesMetadataAndTensors) {
  TempDir dir;
  write_bytes(dir.file("a.gguf"), small_file());
  GgufFile f(dir.file("a.gguf"));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("llama.block_count"), 3u);
  EXPECT_FLOAT_EQ(f.get_float("llama.rope.freq_base", 0), 500000.0);
  EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_bos_token", true));
  EXPECT_EQ(f.get_strings("tokenizer.ggml.tokens").at(2), "\xe2\x96\x81hi");
  EXPECT_DOUBLE_EQ(f.get_floats("tokenizer.ggml.scores").at(0), 0.5);
  EXPECT_EQ(f.get_ints("tokenizer.ggml.token_type").at(2), 6);
  EXPECT_EQ(f.get_uint("missing.key", 7), 7u);
  EXPECT_THROW(f.get_uint("missing.key"), Error);
  EXPECT_THROW(f.get_string("llama.block_count"), Error);

  const GgufTensor& m = f.tensor("m.weight");
  ASSERT_EQ(m.dims.size(), 2u);
  EXPECT_EQ(m.dims[0], 3u);
  EXPECT_EQ(m.dims[1], 2u);
  EXPECT_EQ(m.nbytes, 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data) % 32, 0u) << "tensor data must honour general.alignment";
  float v[6];
  std::memcpy(v, m.data, sizeof v);
  EXPECT_EQ(v[5], 6.0f);
  const GgufTensor& q = f.tensor("q.weight");
  EXPECT_EQ(q.type, GgmlType::Q8_0);
  EXPECT_EQ(q.nbytes, 68u);
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
  EXPECT_THROW(f.tensor("nope"), Error);
}

TEST(Gguf, EveryTruncationIsACleanError) {
  TempDir dir;
  auto bytes = small_file();
  // Cut the file at every length up to the end of the tensor infos, and a few inside the data.
  for (size_t len = 0; len < bytes.size(); len += (len < 600 ? 1 : 7)) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    write_bytes(dir.file("t.gguf"), cut);
    EXPECT_THROW(GgufFile f(dir.file("t.gguf")), Error) << "length " << len;
  }
}

TEST(Gguf, LyingHeadersAreRejected) {
  TempDir dir;
  auto good = small_file();
  auto expect_error = [&](std::vector<uint8_t> b, const std::string& needle) {
    write_bytes(dir.file("l.gguf"), b);
    try {
      GgufFile f(dir.file("l.gguf"));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto b = good;
  b[0] = 'X';
  expect_error(b, "bad magic");
  b = good;
  b[4] = 9;
  expect_error(b, "unsupported GGUF version 9");
  b = good;
  uint64_t huge = uint64_t{1} << 60;
  std::memcpy(&b[8], &huge, 8);  // tensor count
  expect_error(b, "implausible tensor count");
  b = good;
  std::memcpy(&b[16], &huge, 8);  // metadata count
  expect_error(b, "implausible metadata count");
  b = good;
  std::memcpy(&b[24], &huge, 8);  // length of the first key string
  expect_error(b, "truncated");
  // A tensor whose offset points past the end of the file.
  b = good;
  std::string name = "q.weight";
  auto it = std::search(b.begin(), b.end(), name.begin(), name.end());
  ASSERT_NE(it, b.end());
  size_t off_pos = static_cast<size_t>(it - b.begin()) + name.size() + 4 + 16 + 4;  // n_dims, 2 dims, type
  uint64_t far = 1 << 20;
  std::memcpy(&b[off_pos], &far, 8);
  expect_error(b, "beyond the end");
  // An unsupported tensor type (Q4_0 = 2).
  b = good;
  uint32_t q4 = 2;
  std::memcpy(&b[off_pos - 4], &q4, 4);
  expect_error(b, "unsupported type 2");
}

TEST(Gguf, MissingFileIsASysError) { EXPECT_THROW(GgufFile f("/nonexistent/model.gguf"), SysError); }

}  // namespace
}  // namespace mctr::infer
