#include "model/kv_cache.h"

#include <cstring>

#include "model/kernels.h"
#include "util/error.h"

namespace mctr::infer {

KvCache::KvCache(GgmlType type, size_t n_rows, int row_len)
    : type_(type), row_len_(static_cast<size_t>(row_len)) {
  if (type == GgmlType::F32)
    f32_.assign(n_rows * row_len_, 0.0f);
  else if (type == GgmlType::F16)
    f16_.assign(n_rows * row_len_, 0);
  else
    throw Error(std::string("KV cache type ") + type_name(type) + " is not supported");
}

void KvCache::store(size_t r, const float* x) { store(r, x, 0, row_len_); }

void KvCache::store(size_t r, const float* x, size_t e0, size_t n) {
  const size_t i = r * row_len_ + e0;
  if (type_ == GgmlType::F32)
    std::memcpy(&f32_[i], x + e0, n * sizeof(float));
  else
    fp32_to_fp16_row(x + e0, &f16_[i], n);
}

const void* KvCache::at(size_t r, size_t e) const {
  const size_t i = r * row_len_ + e;
  return type_ == GgmlType::F32 ? static_cast<const void*>(&f32_[i]) : static_cast<const void*>(&f16_[i]);
}

GgmlType parse_kv_type(const std::string& name) {
  if (name == "f32") return GgmlType::F32;
  if (name == "f16") return GgmlType::F16;
  throw Error("cache type \"" + name + "\": use f32 or f16");
}

}  // namespace mctr::infer
