// Model files written by llama.cpp's own tools load and give the same results as ours.
//
// tests/data holds the headers (metadata + tensor table, up to the start of the tensor data)
// of two files llama.cpp wrote from the bundled model:
// - fortunes-f32.llama2c-converted.gguf-header: `llama-convert-llama2c-to-ggml`, the tool
//   that made the llama2.c "stories" GGUFs users have (context_length 128, separator and
//   padding ids 0xFFFFFFFF, no general.file_type, its own tensor order);
// - fortunes-q8_0.llama-quantize.gguf-header: `llama-quantize ... Q8_0` (quantization_version,
//   tensors reordered).
// Their tensor data is byte for byte the bundled models' (checked when they were made), so
// the test rebuilds each whole file from its header and the bundled model's tensors instead
// of storing the weights twice. How they were made: tests/data/README.md. When the bundled model
// is retrained, run tests/data/make-llamacpp-headers.sh: the headers carry the vocabulary and the
// shapes, and the greedy texts below are llama.cpp's for the bundled weights.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "model/threadpool.h"
#include "model/transformer.h"

namespace mctr::infer {
namespace {

const std::string kData = MINICTR_TEST_DATA;
const std::string kModels = MINICTR_INFER_MODELS;

// llama.cpp's greedy continuations (llama-simple, after its BOS and the prompt) of "A programmer"
// (100 tokens, the converted F32 file) and "Q: Why" (40 tokens, the Q8_0 file), printed by
// tests/data/make-llamacpp-headers.sh when the headers were made from the bundled model.
const std::string kLlamaSimpleProgrammer =
    ", n.:\nAn unique message of theory, and the only way to be\nmored to the purpose.\n-- Douglas Coupland, "
    "\"Generation X: Tales for an Accelerated\nCulture\"";
const std::string kLlamaSimpleWhy =
    " did you think of me?\nA: You're afraid of the Court:\nAll the boys aren't there.";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/minictr-infer-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& a, const std::string& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(a.data(), static_cast<std::streamsize>(a.size()));
  out.write(b.data(), static_cast<std::streamsize>(b.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// Header + the tensors of `weights` placed where the header's tensor table says.
std::string rebuild(const std::string& header_name, const std::string& weights_path, const TempDir& dir) {
  const std::string header = read_all(kData + "/" + header_name);
  GgufFile weights(weights_path);
  size_t data_bytes = 0;
  for (const GgufTensor& t : weights.tensors()) data_bytes += t.nbytes;
  // First with zeros, to read the tensor table with the reader under test.
  const std::string path = dir.file(header_name + ".gguf");
  write_all(path, header, std::string(data_bytes, '\0'));
  std::string data(data_bytes, '\0');
  {
    GgufFile layout(path);
    EXPECT_EQ(layout.tensors().size(), weights.tensors().size());
    for (const GgufTensor& t : layout.tensors()) {
      const GgufTensor& src = weights.tensor(t.name);
      EXPECT_EQ(t.dims, src.dims) << t.name;
      EXPECT_EQ(t.type, src.type) << t.name;
      if (t.nbytes != src.nbytes || t.offset + t.nbytes > data.size()) {
        ADD_FAILURE() << t.name << ": size or offset does not fit";
        continue;
      }
      std::memcpy(data.data() + t.offset, src.data, src.nbytes);
    }
  }
  write_all(path, header, data);
  return path;
}

// Greedy continuation of `prompt` (after BOS) until EOS or n tokens, and the first logits.
struct Greedy {
  std::vector<float> first_logits;
  std::string text;
};
Greedy greedy(const Model& m, const std::string& prompt, int n) {
  ThreadPool pool(1);
  Session s(m, m.config().ctx_len);
  const float* l = m.forward(s, m.tokenizer().encode(prompt, true), pool);
  Greedy g;
  const int V = m.config().n_vocab;
  g.first_logits.assign(l, l + V);
  for (int i = 0; i < n; i++) {
    int next = static_cast<int>(std::max_element(l, l + V) - l);
    if (next == m.tokenizer().eos()) break;
    g.text += m.tokenizer().piece(next);
    l = m.forward(s, {next}, pool);
  }
  return g;
}

TEST(LlamaCppFiles, Llama2cConverterOutputLoads) {
  TempDir dir;
  const std::string bundled = kModels + "/minictr-fortunes-f32.gguf";
  const std::string path = rebuild("fortunes-f32.llama2c-converted.gguf-header", bundled, dir);
  EXPECT_EQ(std::filesystem::file_size(path), 9490976u);  // the size of the file llama.cpp wrote
  Model theirs(path);
  Model ours(bundled);
  EXPECT_EQ(theirs.config().ctx_len, 128);  // the converter's default, not the model's 256
  EXPECT_EQ(theirs.config().n_kv_heads, 2);
  EXPECT_EQ(theirs.config().rope_dim, 32);
  EXPECT_EQ(theirs.tokenizer().encode("Why, a llama? ", true),
            ours.tokenizer().encode("Why, a llama? ", true));

  Greedy a = greedy(theirs, "A programmer", 100);
  Greedy b = greedy(ours, "A programmer", 100);
  EXPECT_EQ(a.first_logits, b.first_logits);  // same weights, same arithmetic: bit for bit
  EXPECT_EQ(a.text, b.text);
  // What llama.cpp's own llama-simple printed for this file (tests/data/make-llamacpp-headers.sh).
  EXPECT_EQ(a.text, kLlamaSimpleProgrammer);
}

TEST(LlamaCppFiles, LlamaQuantizeQ8OutputLoads) {
  TempDir dir;
  const std::string bundled = kModels + "/minictr-fortunes-q8_0.gguf";
  const std::string path = rebuild("fortunes-q8_0.llama-quantize.gguf-header", bundled, dir);
  EXPECT_EQ(std::filesystem::file_size(path), 2560896u);
  Model theirs(path);
  Model ours(bundled);
  EXPECT_EQ(theirs.weight_type(), GgmlType::Q8_0);
  EXPECT_EQ(theirs.file().get_uint("general.file_type"), 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
  Greedy a = greedy(theirs, "Q: Why", 40);
  Greedy b = greedy(ours, "Q: Why", 40);
  EXPECT_EQ(a.first_logits, b.first_logits);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.text, kLlamaSimpleWhy);
}

}  // namespace
}  // namespace mctr::infer
