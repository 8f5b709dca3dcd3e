#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "model/kernels.h"
#include "util/error.h"

namespace mctr::infer {

KvCache::KvCache(GgmlType type, int n_layers, size_t n_ctx, int n_heads, int head_len)
    : type_(type),
      n_ctx_(n_ctx),
      n_heads_(static_cast<size_t>(n_heads)),
      head_len_(static_cast<size_t>(head_len)) {
  const size_t n = static_cast<size_t>(n_layers) * n_heads_ * n_ctx_ * head_len_;
  if (type == GgmlType::F32)
    f32_.assign(n, 0.0f);
  else if (type == GgmlType::F16)
    f16_.assign(n, 0);
  else
    throw Error(std::string("KV cache type ") + type_name(type) + " is not supported");
}

void KvCache::store(int layer, size_t pos, const float* x, size_t e0, size_t n) {
  // The range may cross heads: one copy per head's part of it.
  for (size_t e = e0; e < e0 + n;) {
    const size_t head = e / head_len_, d = e % head_len_;
    const size_t len = std::min(e0 + n - e, head_len_ - d);
    const size_t i = index(layer, pos, head) + d;
    if (type_ == GgmlType::F32)
      std::memcpy(&f32_[i], x + e, len * sizeof(float));
    else
      fp32_to_fp16_row(x + e, &f16_[i], len);
    e += len;
  }
}

const void* KvCache::at(int layer, size_t pos, int head) const {
  const size_t i = index(layer, pos, static_cast<size_t>(head));
  return type_ == GgmlType::F32 ? static_cast<const void*>(&f32_[i]) : static_cast<const void*>(&f16_[i]);
}

GgmlType parse_kv_type(const std::string& name) {
  if (name == "f32") return GgmlType::F32;
  if (name == "f16") return GgmlType::F16;
  throw Error("cache type \"" + name + "\": use f32 or f16");
}

}  // namespace mctr::infer
