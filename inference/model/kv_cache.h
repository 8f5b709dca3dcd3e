// The KV cache: every layer's keys (or values) of every position so far, one row of
// kv_dim elements per (layer, position). F32 keeps them exactly; F16, llama.cpp's default
// (--cache-type-k/v f16), takes half the memory and rounds each element to 11 significant
// bits, as llama.cpp does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf.h"

namespace mctr::infer {

class KvCache {
 public:
  KvCache(GgmlType type, size_t n_rows, int row_len);  // F32 or F16
  GgmlType type() const { return type_; }
  // Row r := x (row_len floats), converted to the cache's type.
  void store(size_t r, const float* x);
  // Elements e0..e0+n of row r := x[e0..e0+n).
  void store(size_t r, const float* x, size_t e0, size_t n);
  // Element e of row r, where the kernels read it (row_len elements of type()).
  const void* at(size_t r, size_t e = 0) const;
  size_t bytes() const { return f32_.size() * sizeof(float) + f16_.size() * sizeof(uint16_t); }

 private:
  GgmlType type_;
  size_t row_len_;
  std::vector<float> f32_;
  std::vector<uint16_t> f16_;
};

// "f32" or "f16" (llama.cpp's names; its quantized types are not supported).
GgmlType parse_kv_type(const std::string& name);

}  // namespace mctr::infer
