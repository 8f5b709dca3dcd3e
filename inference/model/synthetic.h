// Random-weight llama models written as GGUF (for tests and the benchmark): the real loader,
// tokenizer and forward pass run on them, only the numbers in the weights are random.
#pragma once

#include <cstdint>
#include <string>

#include "model/gguf.h"

namespace mctr::infer {

struct SyntheticShape {
  int dim = 64;
  int hidden_dim = 160;
  int n_layers = 2;
  int n_heads = 4;
  int n_kv_heads = 2;
  int n_vocab = 512;  // >= 259: <unk>, <s>, </s>, 256 byte tokens, then word pieces
  int ctx_len = 128;
};

// Writes a llama GGUF v3 with weights of `type` (norms stay F32, as llama.cpp does).
void write_synthetic_model(const std::string& path, const SyntheticShape& shape, GgmlType type,
                           uint64_t seed);

// Encodes n floats as `type` (F32 bytes, F16 halves, or Q8_0 blocks).
std::vector<uint8_t> encode_floats(const float* x, size_t n, GgmlType type);

}  // namespace mctr::infer
