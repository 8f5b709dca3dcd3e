// The forward pass on random-weight models written in the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "model/kernels.h"
#include "model/kv_cache.h"
#include "model/synthetic.h"
#include "model/transformer.h"
#include "util/error.h"

namespace mctr::infer {
namespace {

struct ModelFiles {
  std::string dir;
  ModelFiles() {
    char tmpl[] = "/tmp/minictr-infer-model-XXXXXX";
    dir = ::mkdtemp(tmpl);
    SyntheticShape s;
    for (auto t : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0}) write_synthetic_model(path(t), s, t, 7);
  }
  ~ModelFiles() { std::filesystem::remove_all(dir); }
  std::string path(GgmlType t) const { return dir + "/m-" + type_name(t) + ".gguf"; }
};

const ModelFiles& files() {
  static ModelFiles f;
  return f;
}

std::vector<float> run(const Model& m, const std::vector<int>& toks, int threads, bool one_by_one,
                       int n_ctx = 64, KvTypes kv = {}) {
  Session s(m, n_ctx, kv);
  ThreadPool pool(threads);
  const float* l = nullptr;
  if (one_by_one)
    for (int t : toks) l = m.forward(s, {t}, pool);
  else
    l = m.forward(s, toks, pool);
  return std::vector<float>(l, l + m.config().n_vocab);
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); i++) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}

// An F16 KV cache (llama.cpp's default) takes half the memory and changes the logits
// only by the rounding of the cached keys and values, in the prompt batch (F16 keys read
// by the F16 matmul kernel) and one token at a time (widened for attend) alike.
TEST(Model, F16KvCacheIsHalfTheSizeAndClose) {
  Model m(files().path(GgmlType::F32));
  const KvTypes f16{GgmlType::F16, GgmlType::F16};
  EXPECT_EQ(Session(m, 64, f16).kv_bytes() * 2, Session(m, 64).kv_bytes());
  std::vector<int> toks;
  for (int i = 0; i < 40; i++) toks.push_back((i * 37 + 11) % m.config().n_vocab);
  for (bool one_by_one : {false, true}) {
    auto exact = run(m, toks, 2, one_by_one);
    auto rounded = run(m, toks, 2, one_by_one, 64, f16);
    double scale = 0;
    for (float x : exact) scale = std::max(scale, static_cast<double>(std::fabs(x)));
    const double d = max_diff(exact, rounded);
    EXPECT_GT(d, 0.0) << "F16 cache gave identical logits: not used?";
    EXPECT_LT(d, 1e-2 * scale) << one_by_one;
    // Keys F16, values F32 and the other way round: each cache on its own.
    EXPECT_LT(max_diff(exact, run(m, toks, 2, one_by_one, 64, {GgmlType::F16, GgmlType::F32})), 1e-2 * scale);
    EXPECT_LT(max_diff(exact, run(m, toks, 2, one_by_one, 64, {GgmlType::F32, GgmlType::F16})), 1e-2 * scale);
  }
  EXPECT_THROW(parse_kv_type("q8_0"), Error);
  EXPECT_EQ(parse_kv_type("f16"), GgmlType::F16);
}

// The cache keeps each head's positions together: (layer, pos, head) is at
// ((layer * heads + head) * n_ctx + pos) * head_len, a head's next position stride() further, and a
// stored range that crosses heads lands in each head's row.
TEST(KvCache, HeadByHeadLayout) {
  const int layers = 2, heads = 3, head_len = 4;
  const size_t n_ctx = 5;
  for (GgmlType type : {GgmlType::F32, GgmlType::F16}) {
    KvCache c(type, layers, n_ctx, heads, head_len);
    EXPECT_EQ(c.stride(), static_cast<size_t>(head_len));
    std::vector<float> row(heads * head_len);
    for (size_t i = 0; i < row.size(); i++) row[i] = static_cast<float>(i + 1);
    c.store(1, 3, row.data(), 2, 7);  // elements 2..8: the end of head 0, all of head 1, the start of head 2
    auto at = [&](int layer, size_t pos, int head, int d) {
      const void* p = c.at(layer, pos, head);
      return type == GgmlType::F32 ? static_cast<const float*>(p)[d]
                                   : fp16_to_fp32(static_cast<const uint16_t*>(p)[d]);
    };
    for (int head = 0; head < heads; head++)
      for (int d = 0; d < head_len; d++) {
        const int e = head * head_len + d;
        EXPECT_EQ(at(1, 3, head, d), e >= 2 && e < 9 ? row[e] : 0.0f) << head << " " << d;
        EXPECT_EQ(at(0, 3, head, d), 0.0f);  // the other layer
        EXPECT_EQ(at(1, 2, head, d), 0.0f);  // the position before
      }
    // Position 3 of a head is three strides after its position 0.
    const size_t elem = type == GgmlType::F32 ? 4 : 2;
    EXPECT_EQ(static_cast<const char*>(c.at(1, 3, 2)) - static_cast<const char*>(c.at(1, 0, 2)),
              static_cast<std::ptrdiff_t>(3 * c.stride() * elem));
    EXPECT_EQ(static_cast<const char*>(c.at(1, 0, 1)) - static_cast<const char*>(c.at(1, 0, 0)),
              static_cast<std::ptrdiff_t>(n_ctx * head_len * elem));
  }
}

TEST(Model, LoadsConfigFromMetadata) {
  Model m(files().path(GgmlType::F32));
  const auto& c = m.config();
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.hidden_dim, 160);
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.ctx_len, 128);
}

TEST(Model, BatchedPromptEqualsTokenByToken) {
  Model m(files().path(GgmlType::F32));
  std::vector<int> toks;
  // More than one batch chunk (Session::kMaxBatch tokens each), the last one partial.
  const int n = Session::kMaxBatch + 14;
  for (int i = 0; i < n; i++) toks.push_back((i * 37 + 5) % 512);
  auto a = run(m, toks, 1, true, n);
  auto b = run(m, toks, 1, false, n);
  EXPECT_LT(max_diff(a, b), 1e-4);
  // A context shorter than kMaxBatch: the chunks (and scratch buffers) are that long.
  toks.resize(40);
  EXPECT_LT(max_diff(run(m, toks, 2, true, 50), run(m, toks, 2, false, 50)), 1e-4);
}

TEST(Model, ThreadCountDoesNotChangeTheResult) {
  Model m(files().path(GgmlType::Q8_0));
  std::vector<int> toks = {1, 300, 301, 302, 7, 9};
  EXPECT_EQ(run(m, toks, 1, false), run(m, toks, 3, false));
}

TEST(Model, F16AndQ8WeightsTrackF32) {
  std::vector<int> toks = {1, 290, 291, 292, 293, 10, 20};
  auto f32 = run(Model(files().path(GgmlType::F32)), toks, 2, false);
  auto f16 = run(Model(files().path(GgmlType::F16)), toks, 2, false);
  auto q8 = run(Model(files().path(GgmlType::Q8_0)), toks, 2, false);
  double scale = 0;
  for (float v : f32) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  EXPECT_LT(max_diff(f32, f16), 0.01 * scale);
  EXPECT_LT(max_diff(f32, q8), 0.05 * scale);
  EXPECT_GT(max_diff(f32, q8), 0.0) << "Q8_0 must really be quantized";
}

TEST(Model, ContextOverflowAndBadTokensThrow) {
  Model m(files().path(GgmlType::F32));
  Session s(m, 4);
  ThreadPool pool(1);
  m.forward(s, {1, 2, 3}, pool);
  EXPECT_THROW(m.forward(s, {4, 5}, pool), Error);
  EXPECT_THROW(m.forward(s, {100000}, pool), Error);
  s.reset();
  EXPECT_NO_THROW(m.forward(s, {1, 2, 3, 4}, pool));
}

TEST(Model, RejectsWrongShapes) {
  char tmpl[] = "/tmp/minictr-infer-bad-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_uint32("llama.embedding_length", 64);
  w.add_uint32("llama.block_count", 1);
  w.add_uint32("llama.attention.head_count", 4);
  w.add_uint32("llama.feed_forward_length", 128);
  w.add_uint32("llama.context_length", 16);
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
  std::vector<float> v(32 * 4, 0.5f);
  w.add_tensor("token_embd.weight", {32, 4}, GgmlType::F32, encode_floats(v.data(), v.size(), GgmlType::F32));
  w.write(dir + "/bad.gguf");
  try {
    Model m(dir + "/bad.gguf");
    ADD_FAILURE() << "loaded a model with a wrong embedding shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mctr::infer
