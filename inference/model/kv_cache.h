// The KV cache: every layer's keys (or values) of every position so far. F32 keeps them
// exactly; F16, llama.cpp's default (--cache-type-k/v f16), takes half the memory and rounds
// each element to 11 significant bits, as llama.cpp does.
//
// Laid out head by head, [layer][kv head][position][head_len]: the keys (and the values) one
// head attends over lie one after the other, so a query's attention reads each as one stream.
// (Position-major rows of kv_dim elements put a head's next key kv_dim elements further: the
// hardware prefetchers did not follow that, and a generated token's attention over a context
// of 256 took ~2.6 times as long; docs/performance.md.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf.h"

namespace mctr::infer {

class KvCache {
 public:
  KvCache(GgmlType type, int n_layers, size_t n_ctx, int n_heads, int head_len);  // F32 or F16
  GgmlType type() const { return type_; }
  // Elements e0..e0+n of the row of (layer, pos), n_heads * head_len elements as the k or v
  // projection gives them, := x[e0..e0+n), converted to the cache's type.
  void store(int layer, size_t pos, const float* x, size_t e0, size_t n);
  // Head `head`'s head_len elements at (layer, pos), of type(), where the kernels read them;
  // the next position's are stride() elements further.
  const void* at(int layer, size_t pos, int head) const;
  size_t stride() const { return head_len_; }
  size_t bytes() const { return f32_.size() * sizeof(float) + f16_.size() * sizeof(uint16_t); }

 private:
  size_t index(int layer, size_t pos, size_t head) const {
    return ((static_cast<size_t>(layer) * n_heads_ + head) * n_ctx_ + pos) * head_len_;
  }

  GgmlType type_;
  size_t n_ctx_, n_heads_, head_len_;
  std::vector<float> f32_;
  std::vector<uint16_t> f16_;
};

// "f32" or "f16" (llama.cpp's names; its quantized types are not supported).
GgmlType parse_kv_type(const std::string& name);

}  // namespace mctr::infer
