#include "model/synthetic.h"

#include <cstring>
#include <random>

#include "model/kernels.h"
#include "util/error.h"

namespace mctr::infer {

std::vector<uint8_t> encode_floats(const float* x, size_t n, GgmlType type) {
  std::vector<uint8_t> out(type_row_bytes(type, n));
  if (type == GgmlType::F32) {
    std::memcpy(out.data(), x, n * 4);
  } else if (type == GgmlType::F16) {
    for (size_t i = 0; i < n; i++) {
      uint16_t h = fp32_to_fp16(x[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  } else {
    std::vector<BlockQ8> blocks(n / kQK8);
    quantize_row_q8_0(x, blocks.data(), n);
    std::memcpy(out.data(), blocks.data(), out.size());
  }
  return out;
}

void write_synthetic_model(const std::string& path, const SyntheticShape& s, GgmlType type, uint64_t seed) {
  if (type == GgmlType::Q8_0 && (s.dim % kQK8 || s.hidden_dim % kQK8))
    throw Error("synthetic model: Q8_0 needs dim and hidden_dim to be multiples of 32");
  if (s.n_vocab < 259) throw Error("synthetic model: vocabulary must hold the 259 special and byte tokens");
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", "synthetic");
  w.add_uint32("llama.context_length", s.ctx_len);
  w.add_uint32("llama.embedding_length", s.dim);
  w.add_uint32("llama.block_count", s.n_layers);
  w.add_uint32("llama.feed_forward_length", s.hidden_dim);
  w.add_uint32("llama.attention.head_count", s.n_heads);
  w.add_uint32("llama.attention.head_count_kv", s.n_kv_heads);
  w.add_uint32("llama.rope.dimension_count", s.dim / s.n_heads);
  w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.add_float32("llama.rope.freq_base", 10000.0f);

  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  char buf[16];
  for (int b = 0; b < 256; b++) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.push_back(buf);
    types.push_back(6);
  }
  // Word pieces: the printable characters, "▁x" pairs, then numbered filler pieces.
  const std::string sp = "\xe2\x96\x81";
  for (char c = 'a'; c <= 'z' && static_cast<int>(pieces.size()) < s.n_vocab; c++)
    pieces.push_back(std::string(1, c));
  for (char c = 'a'; c <= 'z' && static_cast<int>(pieces.size()) < s.n_vocab; c++) pieces.push_back(sp + c);
  while (static_cast<int>(pieces.size()) < s.n_vocab)
    pieces.push_back(sp + "w" + std::to_string(pieces.size()));
  types.resize(pieces.size(), 1);
  std::vector<float> scores(pieces.size());
  for (size_t i = 0; i < scores.size(); i++) scores[i] = -static_cast<float>(i);
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_strings("tokenizer.ggml.tokens", pieces);
  w.add_floats("tokenizer.ggml.scores", scores);
  w.add_int32s("tokenizer.ggml.token_type", types);
  w.add_uint32("tokenizer.ggml.bos_token_id", 1);
  w.add_uint32("tokenizer.ggml.eos_token_id", 2);
  w.add_uint32("tokenizer.ggml.unknown_token_id", 0);
  w.add_uint32("general.file_type", type == GgmlType::F32 ? 0 : type == GgmlType::F16 ? 1 : 7);

  auto mat = [&](const std::string& name, int rows, int cols, GgmlType t, float scale) {
    std::vector<float> v(static_cast<size_t>(rows) * cols);
    for (auto& x : v) x = normal(rng) * scale;
    w.add_tensor(name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)}, t,
                 encode_floats(v.data(), v.size(), t));
  };
  auto ones = [&](const std::string& name, int n) {
    std::vector<float> v(n);
    for (auto& x : v) x = 1.0f + 0.1f * normal(rng);
    w.add_tensor(name, {static_cast<uint64_t>(n)}, GgmlType::F32, encode_floats(v.data(), n, GgmlType::F32));
  };
  int hd = s.dim / s.n_heads, kv = s.n_kv_heads * hd;
  float sd = 1.0f / std::sqrt(static_cast<float>(s.dim)),
        sh = 1.0f / std::sqrt(static_cast<float>(s.hidden_dim));
  mat("token_embd.weight", s.n_vocab, s.dim, type, 1.0f);
  for (int l = 0; l < s.n_layers; l++) {
    std::string p = "blk." + std::to_string(l) + ".";
    ones(p + "attn_norm.weight", s.dim);
    mat(p + "attn_q.weight", s.dim, s.dim, type, sd);
    mat(p + "attn_k.weight", kv, s.dim, type, sd);
    mat(p + "attn_v.weight", kv, s.dim, type, sd);
    mat(p + "attn_output.weight", s.dim, s.dim, type, sd);
    ones(p + "ffn_norm.weight", s.dim);
    mat(p + "ffn_gate.weight", s.hidden_dim, s.dim, type, sd);
    mat(p + "ffn_up.weight", s.hidden_dim, s.dim, type, sd);
    mat(p + "ffn_down.weight", s.dim, s.hidden_dim, type, sh);
  }
  ones("output_norm.weight", s.dim);
  mat("output.weight", s.n_vocab, s.dim, type, sd);
  w.write(path);
}

}  // namespace mctr::infer
