// The llama forward pass over a memory-mapped GGUF model.
//
//   x = token_embd[token]
//   for each layer:  x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
//                    x += Wdown · (silu(Wgate·norm(x)) * Wup·norm(x))
//   logits = output · norm(x)
//
// Tensor names and RoPE follow llama.cpp: "blk.N.attn_q.weight", ..., and RoPE rotates
// adjacent pairs (x[2i], x[2i+1]). Hugging Face checkpoints rotate halves instead; their
// converters permute the rows of Wq and Wk so both layouts give the same result.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "model/kernels.h"
#include "model/kv_cache.h"
#include "model/threadpool.h"
#include "model/tokenizer.h"

namespace mctr::infer {

struct ModelConfig {
  int n_vocab = 0;
  int dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int hidden_dim = 0;
  int ctx_len = 0;   // trained context length
  int rope_dim = 0;  // rotated dims per head
  float norm_eps = 1e-5f;
  float rope_base = 10000.0f;
  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// A 2-D weight as stored in the file: `rows` rows of `cols` elements each.
struct Weight {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int rows = 0;
  int cols = 0;
  size_t row_bytes = 0;
  RowFetch fetch = RowFetch::kStreamed;  // how one token's matmul reads it (Model's constructor)
  const uint8_t* row(int r) const { return data + static_cast<size_t>(r) * row_bytes; }
};

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  Weight wq, wk, wv, wo, w_gate, w_up, w_down;
};

class Session;

class Model {
 public:
  // Loads and validates shapes; the weights stay in the mapped file.
  explicit Model(const std::string& gguf_path);

  const ModelConfig& config() const { return cfg_; }
  const Tokenizer& tokenizer() const { return tok_; }
  const GgufFile& file() const { return file_; }
  GgmlType weight_type() const { return layers_.empty() ? GgmlType::F32 : layers_[0].wq.type; }

  // Feed `tokens` at positions s.n_past.. (appending to s's KV cache); returns the logits
  // after the last one (n_vocab floats, valid until the next call). Throws if the context
  // would overflow.
  const float* forward(Session& s, const std::vector<int>& tokens, ThreadPool& pool) const;

 private:
  friend class Session;
  Weight load_weight(const std::string& name, int rows, int cols) const;
  std::vector<float> load_vector(const std::string& name, int n) const;
  void forward_batch(Session& s, const int* tokens, int n, ThreadPool& pool) const;
  void set_row_fetch();

  GgufFile file_;
  ModelConfig cfg_;
  Tokenizer tok_;
  Weight tok_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
  std::vector<double> inv_freq_;
};

// The element types of the KV cache (kv_cache.h). The library keeps F32 unless told
// otherwise; the server defaults to F16 for both, as llama.cpp's does.
struct KvTypes {
  GgmlType k = GgmlType::F32;
  GgmlType v = GgmlType::F32;
};

// One conversation's state: its KV cache, position and scratch buffers.
class Session {
 public:
  Session(const Model& m, int n_ctx, KvTypes kv = {});
  int n_ctx() const { return n_ctx_; }
  int n_past() const { return n_past_; }
  void reset() { n_past_ = 0; }
  // Forget everything after the first n tokens (to reuse a shared prompt prefix).
  void truncate(int n) {
    if (n < n_past_) n_past_ = n;
  }
  const std::vector<float>& logits() const { return logits_; }
  size_t kv_bytes() const { return k_cache_.bytes() + v_cache_.bytes(); }

  // Prompt tokens per forward chunk: each chunk reads every weight once from memory, so a
  // 128-token prompt in one chunk reads them once instead of 4 times (as llama.cpp's ubatch).
  static constexpr int kMaxBatch = 256;

 private:
  friend class Model;
  int n_ctx_;
  int max_batch_;  // min(kMaxBatch, n_ctx): the scratch buffers hold that many tokens
  int n_past_ = 0;
  KvCache k_cache_, v_cache_;
  std::vector<float> x_, xb_, q_, k_, v_, att_out_, hb_, hb2_, logits_;
  std::vector<float> rope_cos_, rope_sin_;
  std::vector<BlockQ8> xq_;
};

}  // namespace mctr::infer
