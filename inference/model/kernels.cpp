#include "model/kernels.h"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace mctr::infer {

float fp16_to_fp32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        e++;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) return sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0);  // inf / nan
  if (absx >= 0x477ff000) return sign | 0x7c00;                                    // overflow -> inf
  if (absx < 0x38800000) {                                                         // subnormal half (or zero)
    float a;
    std::memcpy(&a, &absx, 4);
    // scale so the half subnormal unit (2^-24) becomes 1 and round to nearest even
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  uint32_t mant = absx & 0x7fffff;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = exp << 10 | mant >> 13;
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;  // carries into the exponent correctly
  return sign | static_cast<uint16_t>(h);
}

void quantize_row_q8_0_scalar(const float* x, BlockQ8* out, size_t n) {
  for (size_t b = 0; b < n / kQK8; b++) {
    const float* v = x + b * kQK8;
    float amax = 0;
    for (int i = 0; i < kQK8; i++) amax = std::fmax(amax, std::fabs(v[i]));
    float d = amax / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    for (int i = 0; i < kQK8; i++)
      out[b].qs[i] = static_cast<int8_t>(std::round(v[i] * id));  // roundf, as ggml
  }
}

void dequantize_row(GgmlType t, const void* row, float* out, size_t n) {
  switch (t) {
    case GgmlType::F32:
      std::memcpy(out, row, n * 4);
      return;
    case GgmlType::F16: {
      auto* h = static_cast<const uint16_t*>(row);
      for (size_t i = 0; i < n; i++) out[i] = fp16_to_fp32(h[i]);
      return;
    }
    case GgmlType::Q8_0: {
      auto* blocks = static_cast<const uint8_t*>(row);
      for (size_t b = 0; b < n / kQK8; b++) {
        BlockQ8 blk;
        std::memcpy(&blk, blocks + b * sizeof(BlockQ8), sizeof blk);  // rows may be unaligned
        float d = fp16_to_fp32(blk.d);
        for (int i = 0; i < kQK8; i++) out[b * kQK8 + i] = d * blk.qs[i];
      }
      return;
    }
  }
}

// ---- scalar kernels ----

float dot_f32_scalar(const float* w, const float* x, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; i++) s += w[i] * x[i];
  return s;
}

float dot_f16_scalar(const uint16_t* w, const float* x, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; i++) s += fp16_to_fp32(w[i]) * x[i];
  return s;
}

float dot_q8_0_scalar(const BlockQ8* w, const BlockQ8* xq, size_t n) {
  float s = 0;
  for (size_t b = 0; b < n / kQK8; b++) {
    int32_t acc = 0;
    for (int i = 0; i < kQK8; i++) acc += w[b].qs[i] * xq[b].qs[i];
    s += fp16_to_fp32(w[b].d) * fp16_to_fp32(xq[b].d) * static_cast<float>(acc);
  }
  return s;
}

template <typename T, typename X, float (*Dot)(const T*, const X*, size_t)>
static void rows_with(const void* w, size_t row_bytes, int n_rows, const X* x, size_t n, float* out) {
  for (int r = 0; r < n_rows; r++)
    out[r] = Dot(reinterpret_cast<const T*>(static_cast<const uint8_t*>(w) + r * row_bytes), x, n);
}

void dot_rows_f32_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out) {
  rows_with<float, float, dot_f32_scalar>(w, row_bytes, n_rows, x, n, out);
}
void dot_rows_f16_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out) {
  rows_with<uint16_t, float, dot_f16_scalar>(w, row_bytes, n_rows, x, n, out);
}
void dot_rows_q8_0_scalar(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t n,
                          float* out) {
  rows_with<BlockQ8, BlockQ8, dot_q8_0_scalar>(w, row_bytes, n_rows, xq, n, out);
}

static void dot_rows2_f32_scalar(const void* w, size_t row_bytes, int n_rows, const float* x0,
                                 const float* x1, size_t n, float* out0, float* out1) {
  dot_rows_f32_scalar(w, row_bytes, n_rows, x0, n, out0);
  dot_rows_f32_scalar(w, row_bytes, n_rows, x1, n, out1);
}
static void dot_rows2_f16_scalar(const void* w, size_t row_bytes, int n_rows, const float* x0,
                                 const float* x1, size_t n, float* out0, float* out1) {
  dot_rows_f16_scalar(w, row_bytes, n_rows, x0, n, out0);
  dot_rows_f16_scalar(w, row_bytes, n_rows, x1, n, out1);
}

void matmul_batch_f32_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride,
                             int n_tok, size_t n, float* out, size_t out_stride) {
  for (int t = 0; t < n_tok; t++)
    dot_rows_f32_scalar(w, row_bytes, n_rows, x + t * x_stride, n, out + t * out_stride);
}
void matmul_batch_f16_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride,
                             int n_tok, size_t n, float* out, size_t out_stride) {
  for (int t = 0; t < n_tok; t++)
    dot_rows_f16_scalar(w, row_bytes, n_rows, x + t * x_stride, n, out + t * out_stride);
}
void matmul_batch_q8_0_scalar(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                              size_t xq_stride, int n_tok, size_t n, float* out, size_t out_stride) {
  for (int t = 0; t < n_tok; t++)
    dot_rows_q8_0_scalar(w, row_bytes, n_rows, xq + t * xq_stride, n, out + t * out_stride);
}

// ---- AVX2 kernels (compiled for the target, only called when the CPU has it) ----

#define MCTR_AVX2 __attribute__((target("avx2,fma,f16c")))

MCTR_AVX2 static inline float hsum256(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// The four horizontal sums of a, b, c, d as one vector {sum a, sum b, sum c, sum d}.
MCTR_AVX2 static inline __m128 hsum4x256(__m256 a, __m256 b, __m256 c, __m256 d) {
  __m256 ab = _mm256_hadd_ps(a, b);  // a01 a23 b01 b23 | a45 a67 b45 b67
  __m256 cd = _mm256_hadd_ps(c, d);
  __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0123 b0123 c0123 d0123 | a4567 ...
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// 8 weights as floats: the F32 and F16 kernels share their loops through these.
MCTR_AVX2 static inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
MCTR_AVX2 static inline __m256 load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
static inline float to_float(float v) { return v; }
static inline float to_float(uint16_t h) { return fp16_to_fp32(h); }

// Calls f(keys, values) with the rows' element types (float or uint16_t for F16): each
// attention kernel below is one template for the four pairs of KV cache types.
template <typename F>
static void with_kv_types(KvRows k, KvRows v, F&& f) {
  const bool k16 = k.type == GgmlType::F16, v16 = v.type == GgmlType::F16;
  const auto* kf = static_cast<const float*>(k.data);
  const auto* kh = static_cast<const uint16_t*>(k.data);
  const auto* vf = static_cast<const float*>(v.data);
  const auto* vh = static_cast<const uint16_t*>(v.data);
  if (k16 && v16)
    f(kh, vh);
  else if (k16)
    f(kh, vf);
  else if (v16)
    f(kf, vh);
  else
    f(kf, vf);
}

template <typename K, typename V>
static void attend_scalar_t(const float* q, const K* k, const V* v, size_t stride, int n_keys, int hd,
                            float scale, float* att, float* out) {
  float maxv = -INFINITY;
  for (int t = 0; t < n_keys; t++) {
    float d = 0;
    for (int i = 0; i < hd; i++) d += q[i] * to_float(k[t * stride + i]);
    att[t] = d * scale;
    maxv = std::fmax(maxv, att[t]);
  }
  float sum = 0;
  for (int t = 0; t < n_keys; t++) sum += att[t] = std::exp(att[t] - maxv);
  std::fill(out, out + hd, 0.0f);
  for (int t = 0; t < n_keys; t++) {
    const V* vt = v + t * stride;
    float a = att[t] / sum;
    for (int i = 0; i < hd; i++) out[i] += a * to_float(vt[i]);
  }
}

void attend_scalar(const float* q, KvRows k, KvRows v, size_t stride, int n_keys, int hd, float scale,
                   float* att, float* out) {
  with_kv_types(k, v,
                [&](auto* kp, auto* vp) { attend_scalar_t(q, kp, vp, stride, n_keys, hd, scale, att, out); });
}

void attend_scalar(const float* q, const float* k, const float* v, size_t stride, int n_keys, int hd,
                   float scale, float* att, float* out) {
  attend_scalar(q, {GgmlType::F32, k}, {GgmlType::F32, v}, stride, n_keys, hd, scale, att, out);
}

// Four independent accumulators: an FMA takes 4 cycles and two can start per cycle.
template <typename T>
MCTR_AVX2 static float dot_avx2(const T* w, const float* x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
         a3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(load8(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(load8(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(load8(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(load8(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load8(w + i), _mm256_loadu_ps(x + i), a0);
  float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; i++) s += to_float(w[i]) * x[i];
  return s;
}

MCTR_AVX2 static float dot_f32_avx2(const float* w, const float* x, size_t n) { return dot_avx2(w, x, n); }
MCTR_AVX2 static float dot_f16_avx2(const uint16_t* w, const float* x, size_t n) { return dot_avx2(w, x, n); }

// Four rows against one x: each x vector is loaded once for the four rows.
template <typename T>
MCTR_AVX2 static void dot_rows_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                    float* out) {
  auto row = [&](int r) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  int r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const T *w0 = row(r), *w1 = row(r + 1), *w2 = row(r + 2), *w3 = row(r + 3);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps(),
           b3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
      a0 = _mm256_fmadd_ps(load8(w0 + i), x0, a0);
      a1 = _mm256_fmadd_ps(load8(w1 + i), x0, a1);
      a2 = _mm256_fmadd_ps(load8(w2 + i), x0, a2);
      a3 = _mm256_fmadd_ps(load8(w3 + i), x0, a3);
      b0 = _mm256_fmadd_ps(load8(w0 + i + 8), x1, b0);
      b1 = _mm256_fmadd_ps(load8(w1 + i + 8), x1, b1);
      b2 = _mm256_fmadd_ps(load8(w2 + i + 8), x1, b2);
      b3 = _mm256_fmadd_ps(load8(w3 + i + 8), x1, b3);
    }
    for (; i + 8 <= n; i += 8) {
      __m256 x0 = _mm256_loadu_ps(x + i);
      a0 = _mm256_fmadd_ps(load8(w0 + i), x0, a0);
      a1 = _mm256_fmadd_ps(load8(w1 + i), x0, a1);
      a2 = _mm256_fmadd_ps(load8(w2 + i), x0, a2);
      a3 = _mm256_fmadd_ps(load8(w3 + i), x0, a3);
    }
    __m128 sums =
        hsum4x256(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2), _mm256_add_ps(a3, b3));
    alignas(16) float s[4];
    _mm_store_ps(s, sums);
    for (; i < n; i++) {
      s[0] += to_float(w0[i]) * x[i];
      s[1] += to_float(w1[i]) * x[i];
      s[2] += to_float(w2[i]) * x[i];
      s[3] += to_float(w3[i]) * x[i];
    }
    std::memcpy(out + r, s, sizeof s);
  }
  for (; r < n_rows; r++) out[r] = dot_avx2(row(r), x, n);
}

MCTR_AVX2 static void dot_rows_f32_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                        float* out) {
  dot_rows_avx2<float>(w, row_bytes, n_rows, x, n, out);
}
MCTR_AVX2 static void dot_rows_f16_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                        float* out) {
  dot_rows_avx2<uint16_t>(w, row_bytes, n_rows, x, n, out);
}

// Four rows against two tokens: 8 accumulators, each loaded weight vector used twice.
template <typename T>
MCTR_AVX2 static void dot_rows2_avx2(const void* w, size_t row_bytes, int n_rows, const float* x0,
                                     const float* x1, size_t n, float* out0, float* out1) {
  auto row = [&](int r) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  int r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const T* wr[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
    __m256 a[4][2];
    for (auto& rr : a) rr[0] = rr[1] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 u = _mm256_loadu_ps(x0 + i), v = _mm256_loadu_ps(x1 + i);
      for (int k = 0; k < 4; k++) {
        __m256 wv = load8(wr[k] + i);
        a[k][0] = _mm256_fmadd_ps(wv, u, a[k][0]);
        a[k][1] = _mm256_fmadd_ps(wv, v, a[k][1]);
      }
    }
    alignas(16) float s0[4], s1[4];
    _mm_store_ps(s0, hsum4x256(a[0][0], a[1][0], a[2][0], a[3][0]));
    _mm_store_ps(s1, hsum4x256(a[0][1], a[1][1], a[2][1], a[3][1]));
    for (; i < n; i++)
      for (int k = 0; k < 4; k++) {
        s0[k] += to_float(wr[k][i]) * x0[i];
        s1[k] += to_float(wr[k][i]) * x1[i];
      }
    std::memcpy(out0 + r, s0, sizeof s0);
    std::memcpy(out1 + r, s1, sizeof s1);
  }
  for (; r < n_rows; r++) {
    out0[r] = dot_avx2(row(r), x0, n);
    out1[r] = dot_avx2(row(r), x1, n);
  }
}

MCTR_AVX2 static void dot_rows2_f32_avx2(const void* w, size_t row_bytes, int n_rows, const float* x0,
                                         const float* x1, size_t n, float* out0, float* out1) {
  dot_rows2_avx2<float>(w, row_bytes, n_rows, x0, x1, n, out0, out1);
}
MCTR_AVX2 static void dot_rows2_f16_avx2(const void* w, size_t row_bytes, int n_rows, const float* x0,
                                         const float* x1, size_t n, float* out0, float* out1) {
  dot_rows2_avx2<uint16_t>(w, row_bytes, n_rows, x0, x1, n, out0, out1);
}

// 32 int8 x int8 products summed in pairs of pairs: 8 x int32, as floats. maddubs multiplies
// unsigned by signed bytes, so w's sign moves onto x and |w| is used (as ggml does).
MCTR_AVX2 static inline __m256 q8_block_dot(__m256i qw, __m256i qx) {
  __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));  // 16 x int16
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

MCTR_AVX2 static inline __m256i q8_load(const BlockQ8& b) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
}

MCTR_AVX2 static float dot_q8_0_avx2(const BlockQ8* w, const BlockQ8* xq, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  const size_t nb = n / kQK8;
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    a0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(xq[b].d)),
                         q8_block_dot(q8_load(w[b]), q8_load(xq[b])), a0);
    a1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b + 1].d) * _cvtsh_ss(xq[b + 1].d)),
                         q8_block_dot(q8_load(w[b + 1]), q8_load(xq[b + 1])), a1);
  }
  if (b < nb)
    a0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(xq[b].d)),
                         q8_block_dot(q8_load(w[b]), q8_load(xq[b])), a0);
  return hsum256(_mm256_add_ps(a0, a1));
}

MCTR_AVX2 static void dot_rows_q8_0_avx2(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                                         size_t n, float* out) {
  auto row = [&](int r) {
    return reinterpret_cast<const BlockQ8*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  const size_t nb = n / kQK8;
  int r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const BlockQ8 *w0 = row(r), *w1 = row(r + 1), *w2 = row(r + 2), *w3 = row(r + 3);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
      __m256i qx = q8_load(xq[b]);
      float dx = _cvtsh_ss(xq[b].d);
      a0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w0[b].d) * dx), q8_block_dot(q8_load(w0[b]), qx), a0);
      a1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w1[b].d) * dx), q8_block_dot(q8_load(w1[b]), qx), a1);
      a2 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w2[b].d) * dx), q8_block_dot(q8_load(w2[b]), qx), a2);
      a3 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w3[b].d) * dx), q8_block_dot(q8_load(w3[b]), qx), a3);
    }
    _mm_storeu_ps(out + r, hsum4x256(a0, a1, a2, a3));
  }
  for (; r < n_rows; r++) out[r] = dot_q8_0_avx2(row(r), xq, n);
}

// ---- Prompt-batch matmul: register tiles, token blocks ----
//
// One tile is R rows x C tokens with one 8-wide accumulator each (R*C <= 12 of the 16 ymm
// registers): per 8 elements it loads C activation vectors and R weight vectors for R*C
// FMAs, against 2 loads per FMA for one dot product. Each accumulator sums its pair in the
// same order as dot_rows2_avx2, so the results are the same floats.

// The loops around the tiles keep a block of rows (about 256 KB) and a block of tokens'
// activations (about 256 KB) in L2: the rows are read from memory once, and each pass over
// the block of tokens reads them from L2. Returns how many fit, a multiple of step.
static int fit_in_block(size_t item_bytes, int step) {
  constexpr size_t kBlockBytes = 256 * 1024;
  int k = static_cast<int>(kBlockBytes / std::max<size_t>(item_bytes, 1));
  return std::max(step, k / step * step);
}

template <typename T, int R, int C>
MCTR_AVX2 static inline void tile_avx2(const T* const* wr, const float* const* xt, size_t n, float* out,
                                       size_t out_stride) {
  __m256 acc[R][C];
#pragma GCC unroll 4
  for (int k = 0; k < R; k++)
#pragma GCC unroll 3
    for (int c = 0; c < C; c++) acc[k][c] = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 xv[C];
#pragma GCC unroll 3
    for (int c = 0; c < C; c++) xv[c] = _mm256_loadu_ps(xt[c] + i);
#pragma GCC unroll 4
    for (int k = 0; k < R; k++) {
      __m256 wv = load8(wr[k] + i);
#pragma GCC unroll 3
      for (int c = 0; c < C; c++) acc[k][c] = _mm256_fmadd_ps(wv, xv[c], acc[k][c]);
    }
  }
#pragma GCC unroll 3
  for (int c = 0; c < C; c++) {
    alignas(16) float s[4];
    if constexpr (R == 4) {
      _mm_store_ps(s, hsum4x256(acc[0][c], acc[1][c], acc[2][c], acc[3][c]));
    } else {
      for (int k = 0; k < R; k++) s[k] = hsum256(acc[k][c]);
    }
    for (size_t j = i; j < n; j++)
      for (int k = 0; k < R; k++) s[k] += to_float(wr[k][j]) * xt[c][j];
    for (int k = 0; k < R; k++) out[c * out_stride + k] = s[k];
  }
}

// The tiles of rows wr[0..R) against tokens t0..t1, 3 at a time.
template <typename T, int R>
MCTR_AVX2 static void tiles_for_rows(const T* const* wr, const float* x, size_t x_stride, int t0, int t1,
                                     size_t n, float* out, size_t out_stride) {
  int t = t0;
  for (; t + 3 <= t1; t += 3) {
    const float* xt[3] = {x + t * x_stride, x + (t + 1) * x_stride, x + (t + 2) * x_stride};
    tile_avx2<T, R, 3>(wr, xt, n, out + t * out_stride, out_stride);
  }
  if (t1 - t == 2) {
    const float* xt[2] = {x + t * x_stride, x + (t + 1) * x_stride};
    tile_avx2<T, R, 2>(wr, xt, n, out + t * out_stride, out_stride);
  } else if (t1 - t == 1) {
    const float* xt[1] = {x + t * x_stride};
    tile_avx2<T, R, 1>(wr, xt, n, out + t * out_stride, out_stride);
  }
}

template <typename T>
MCTR_AVX2 static void matmul_batch_avx2(const void* w, size_t row_bytes, int n_rows, const float* x,
                                        size_t x_stride, int n_tok, size_t n, float* out, size_t out_stride) {
  auto row = [&](int r) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  const int tb = fit_in_block(n * sizeof(float), 3), rb = fit_in_block(row_bytes, 4);
  for (int r0 = 0; r0 < n_rows; r0 += rb) {
    const int r1 = std::min(n_rows, r0 + rb);
    for (int t0 = 0; t0 < n_tok; t0 += tb) {
      const int t1 = std::min(n_tok, t0 + tb);
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        const T* wr[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
        tiles_for_rows<T, 4>(wr, x, x_stride, t0, t1, n, out + r, out_stride);
      }
      for (; r < r1; r++) {
        const T* wr[1] = {row(r)};
        tiles_for_rows<T, 1>(wr, x, x_stride, t0, t1, n, out + r, out_stride);
      }
    }
  }
}

MCTR_AVX2 static void matmul_batch_f32_avx2(const void* w, size_t row_bytes, int n_rows, const float* x,
                                            size_t x_stride, int n_tok, size_t n, float* out,
                                            size_t out_stride) {
  matmul_batch_avx2<float>(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
}
MCTR_AVX2 static void matmul_batch_f16_avx2(const void* w, size_t row_bytes, int n_rows, const float* x,
                                            size_t x_stride, int n_tok, size_t n, float* out,
                                            size_t out_stride) {
  matmul_batch_avx2<uint16_t>(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
}

// ---- AVX-512 prompt-batch matmul (F32 and F16 weights) ----
//
// The same blocking as matmul_batch_avx2 with 16-wide vectors and the 32 zmm registers: a
// tile is 4 rows x 6 tokens (24 accumulators + 6 activation vectors + 1 weight vector), so
// per 16 elements it loads 10 vectors for 24 FMAs (the AVX2 tile: 7 for 12), and each F16
// weight vector is converted (vcvtph2ps) once for 6 tokens. The last n % 16 elements are read
// with masked loads, so any width works without a scalar tail. While the tiles of one group
// of rows run over the token block, the next group's rows are prefetched: they come from
// memory, and 4 interleaved streams are more than the hardware prefetcher follows well.
#define MCTR_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq")))
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps() (an uninitialized local) and,
// inlined at -O3, trip -Wuninitialized; the values are all written before use.
#pragma GCC diagnostic push
#if !defined(__clang__)  // (clang has no -Wmaybe-uninitialized)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

MCTR_AVX512 static inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
MCTR_AVX512 static inline __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
MCTR_AVX512 static inline __m512 load16_masked(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
MCTR_AVX512 static inline __m512 load16_masked(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

MCTR_AVX512 static inline __m256 fold512(__m512 v) {
  const __m512 hi = _mm512_shuffle_f32x4(v, v, 0xee);  // 128-bit lanes 2, 3, 2, 3
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_castps512_ps256(hi));
}
// {sum a, sum b, sum c, sum d} of four 16-wide vectors.
MCTR_AVX512 static inline __m128 hsum4x512(__m512 a, __m512 b, __m512 c, __m512 d) {
  return hsum4x256(fold512(a), fold512(b), fold512(c), fold512(d));
}

// acc[k][c] += w_k[i..i+16) * x_c[i..i+16) for the R rows and C tokens (Masked: only the
// lanes in m, the others read as zeros).
template <typename T, int R, int C, bool Masked>
MCTR_AVX512 static inline void tile_step_avx512(__m512 (&acc)[R][C], const T* const* wr,
                                                const float* const* xt, size_t i, __mmask16 m) {
  __m512 xv[C];
#pragma GCC unroll 6
  for (int c = 0; c < C; c++)
    xv[c] = Masked ? _mm512_maskz_loadu_ps(m, xt[c] + i) : _mm512_loadu_ps(xt[c] + i);
#pragma GCC unroll 4
  for (int k = 0; k < R; k++) {
    __m512 wv = Masked ? load16_masked(wr[k] + i, m) : load16(wr[k] + i);
#pragma GCC unroll 6
    for (int c = 0; c < C; c++) acc[k][c] = _mm512_fmadd_ps(wv, xv[c], acc[k][c]);
  }
}

// One R x C tile over the whole width n; with Prefetch, the rows at pf[0..R) are fetched
// into the caches along the way (one cache line per row per 64 bytes of weights read).
template <typename T, int R, int C, bool Prefetch>
MCTR_AVX512 static inline void tile_avx512(const T* const* wr, const float* const* xt, size_t n, float* out,
                                           size_t out_stride, const T* const* pf) {
  __m512 acc[R][C];
#pragma GCC unroll 4
  for (int k = 0; k < R; k++)
#pragma GCC unroll 6
    for (int c = 0; c < C; c++) acc[k][c] = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    if constexpr (Prefetch) {
      // 64 bytes of prefetch per 64 bytes of weights: every iteration for F32, every other for F16.
      if (sizeof(T) == 4 || (i & 16) == 0)
        for (int k = 0; k < R; k++) _mm_prefetch(reinterpret_cast<const char*>(pf[k] + i), _MM_HINT_T0);
    }
    tile_step_avx512<T, R, C, false>(acc, wr, xt, i, 0);
  }
  if (i < n) tile_step_avx512<T, R, C, true>(acc, wr, xt, i, static_cast<__mmask16>((1u << (n - i)) - 1));
#pragma GCC unroll 6
  for (int c = 0; c < C; c++) {
    if constexpr (R == 4) {
      _mm_storeu_ps(out + c * out_stride, hsum4x512(acc[0][c], acc[1][c], acc[2][c], acc[3][c]));
    } else {
      for (int k = 0; k < R; k++) out[c * out_stride + k] = hsum256(fold512(acc[k][c]));
    }
  }
}

constexpr int kTok512 = 6;  // tokens per AVX-512 tile

// The tiles of rows wr[0..R) against tokens t0..t1, kTok512 at a time then the rest; the first
// one prefetches pf's rows (when given), the others find wr's rows in L1/L2.
template <typename T, int R, int C>
MCTR_AVX512 static inline void tile_at_avx512(const T* const* wr, const float* x, size_t x_stride, int t,
                                              size_t n, float* out, size_t out_stride, const T* const* pf) {
  const float* xt[C];
  for (int c = 0; c < C; c++) xt[c] = x + (t + c) * x_stride;
  if (pf)
    tile_avx512<T, R, C, true>(wr, xt, n, out + t * out_stride, out_stride, pf);
  else
    tile_avx512<T, R, C, false>(wr, xt, n, out + t * out_stride, out_stride, pf);
}

template <typename T, int R>
MCTR_AVX512 static void tiles_for_rows_avx512(const T* const* wr, const float* x, size_t x_stride, int t0,
                                              int t1, size_t n, float* out, size_t out_stride,
                                              const T* const* pf) {
  int t = t0;
  for (; t + kTok512 <= t1; t += kTok512)
    tile_at_avx512<T, R, kTok512>(wr, x, x_stride, t, n, out, out_stride, t == t0 ? pf : nullptr);
  const T* const* pf_rest = t == t0 ? pf : nullptr;
  switch (t1 - t) {
    case 5:
      tile_at_avx512<T, R, 5>(wr, x, x_stride, t, n, out, out_stride, pf_rest);
      break;
    case 4:
      tile_at_avx512<T, R, 4>(wr, x, x_stride, t, n, out, out_stride, pf_rest);
      break;
    case 3:
      tile_at_avx512<T, R, 3>(wr, x, x_stride, t, n, out, out_stride, pf_rest);
      break;
    case 2:
      tile_at_avx512<T, R, 2>(wr, x, x_stride, t, n, out, out_stride, pf_rest);
      break;
    case 1:
      tile_at_avx512<T, R, 1>(wr, x, x_stride, t, n, out, out_stride, pf_rest);
      break;
    default:
      break;
  }
}

template <typename T>
MCTR_AVX512 static void matmul_batch_avx512(const void* w, size_t row_bytes, int n_rows, const float* x,
                                            size_t x_stride, int n_tok, size_t n, float* out,
                                            size_t out_stride) {
  const auto* base = static_cast<const uint8_t*>(w);
#define row(r) reinterpret_cast<const T*>(base + static_cast<size_t>(r) * row_bytes)
  const int tb = fit_in_block(n * sizeof(float), kTok512), rb = fit_in_block(row_bytes, 4);
  for (int r0 = 0; r0 < n_rows; r0 += rb) {
    const int r1 = std::min(n_rows, r0 + rb);
    for (int t0 = 0; t0 < n_tok; t0 += tb) {
      const int t1 = std::min(n_tok, t0 + tb);
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        const T* wr[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
        // The next group of rows comes from memory only in the first token block.
        const bool next = t0 == 0 && r + 8 <= r1;
        const T* pf[4] = {row(next ? r + 4 : r), row(next ? r + 5 : r), row(next ? r + 6 : r),
                          row(next ? r + 7 : r)};
        tiles_for_rows_avx512<T, 4>(wr, x, x_stride, t0, t1, n, out + r, out_stride, next ? pf : nullptr);
      }
      for (; r < r1; r++) {
        const T* wr[1] = {row(r)};
        tiles_for_rows_avx512<T, 1>(wr, x, x_stride, t0, t1, n, out + r, out_stride, nullptr);
      }
    }
  }
#undef row
}

MCTR_AVX512 static void matmul_batch_f32_avx512(const void* w, size_t row_bytes, int n_rows, const float* x,
                                                size_t x_stride, int n_tok, size_t n, float* out,
                                                size_t out_stride) {
  matmul_batch_avx512<float>(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
}
MCTR_AVX512 static void matmul_batch_f16_avx512(const void* w, size_t row_bytes, int n_rows, const float* x,
                                                size_t x_stride, int n_tok, size_t n, float* out,
                                                size_t out_stride) {
  matmul_batch_avx512<uint16_t>(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
}
#pragma GCC diagnostic pop

// Q8_0: 4 rows x C tokens (C <= 2). |w| and w's scale are taken once per block for the C
// tokens; the block sums are in the same order as dot_rows_q8_0_avx2.
template <int C>
MCTR_AVX2 static inline void tile_q8_avx2(const BlockQ8* const* wr, const BlockQ8* const* xt, size_t nb,
                                          float* out, size_t out_stride) {
  __m256 acc[4][C];
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < C; c++) acc[k][c] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (size_t b = 0; b < nb; b++) {
    __m256i qx[C];
    float dx[C];
    for (int c = 0; c < C; c++) {
      qx[c] = q8_load(xt[c][b]);
      dx[c] = _cvtsh_ss(xt[c][b].d);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
      __m256i qw = q8_load(wr[k][b]);
      __m256i aw = _mm256_sign_epi8(qw, qw);
      float dw = _cvtsh_ss(wr[k][b].d);
      for (int c = 0; c < C; c++) {
        __m256i pairs = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(qx[c], qw));
        __m256 sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
        acc[k][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx[c]), sums, acc[k][c]);
      }
    }
  }
  for (int c = 0; c < C; c++)
    _mm_storeu_ps(out + c * out_stride, hsum4x256(acc[0][c], acc[1][c], acc[2][c], acc[3][c]));
}

// One 4 x C tile: the C tokens from `t` on, through Tiles::run (the ISA-specific kernel).
template <class Tiles, int C>
static void run_tile(const BlockQ8* const* wr, const BlockQ8* xq, size_t xq_stride, int t, size_t nb,
                     float* out, size_t out_stride) {
  const BlockQ8* xt[C];
  for (int c = 0; c < C; c++) xt[c] = xq + (t + c) * xq_stride;
  Tiles::template run<C>(wr, xt, nb, out + t * out_stride, out_stride);
}

// The blocking shared by the Q8_0 batch kernels (AVX2 and VNNI): blocks of rows and tokens
// that stay in L2, tiles of 4 rows x Tiles::kMax tokens (then the last 1-2 tokens), and the
// rows left over (fewer than 4) one dot product at a time.
template <typename Tiles>
static void matmul_batch_q8_0_blocked(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                                      size_t xq_stride, int n_tok, size_t n, float* out, size_t out_stride) {
  constexpr int C = Tiles::kMax;
  auto row = [&](int r) {
    return reinterpret_cast<const BlockQ8*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  const size_t nb = n / kQK8;
  const int tb = fit_in_block(nb * sizeof(BlockQ8), C), rb = fit_in_block(row_bytes, 4);
  for (int r0 = 0; r0 < n_rows; r0 += rb)
    for (int t0 = 0; t0 < n_tok; t0 += tb) {
      const int t1 = std::min(n_tok, t0 + tb), r1 = std::min(n_rows, r0 + rb);
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        const BlockQ8* wr[4] = {row(r), row(r + 1), row(r + 2), row(r + 3)};
        int t = t0;
        for (; t + C <= t1; t += C) run_tile<Tiles, C>(wr, xq, xq_stride, t, nb, out + r, out_stride);
        if (t1 - t == 2)
          run_tile<Tiles, 2>(wr, xq, xq_stride, t, nb, out + r, out_stride);
        else if (t1 - t == 1)
          run_tile<Tiles, 1>(wr, xq, xq_stride, t, nb, out + r, out_stride);
      }
      for (; r < r1; r++)
        for (int t = t0; t < t1; t++) out[t * out_stride + r] = dot_q8_0_avx2(row(r), xq + t * xq_stride, n);
    }
}

struct Q8TilesAvx2 {
  static constexpr int kMax = 2;  // 4 x 2: maddubs needs more registers per product than vpdpbusd
  template <int C>
  MCTR_AVX2 static void run(const BlockQ8* const* wr, const BlockQ8* const* xt, size_t nb, float* out,
                            size_t out_stride) {
    tile_q8_avx2<C>(wr, xt, nb, out, out_stride);
  }
};

// The same with AVX512-VNNI on 256-bit vectors (Zen 4, Ice Lake and later): vpdpbusd adds the
// four u8 x s8 products of each 32-bit lane into it in one instruction, with no int16
// saturation. The weights are made unsigned once per block (w + 128, an xor), and each
// token's lanes start from -128 * (their 4 x's sum), so a lane ends at its exact sum of w*x:
// the same integers as maddubs+madd above, so the same floats.
#define MCTR_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

template <int C>
MCTR_VNNI static inline void tile_q8_vnni(const BlockQ8* const* wr, const BlockQ8* const* xt, size_t nb,
                                          float* out, size_t out_stride) {
  __m256 acc[4][C];
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < C; c++) acc[k][c] = _mm256_setzero_ps();
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (size_t b = 0; b < nb; b++) {
    __m256i qx[C], start[C];
    float dx[C];
    for (int c = 0; c < C; c++) {
      qx[c] = q8_load(xt[c][b]);
      dx[c] = _cvtsh_ss(xt[c][b].d);
      start[c] =
          _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, qx[c]));
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
      __m256i wu = _mm256_xor_si256(q8_load(wr[k][b]), bias);
      float dw = _cvtsh_ss(wr[k][b].d);
      for (int c = 0; c < C; c++) {
        __m256 sums = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(start[c], wu, qx[c]));
        acc[k][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx[c]), sums, acc[k][c]);
      }
    }
  }
  for (int c = 0; c < C; c++)
    _mm_storeu_ps(out + c * out_stride, hsum4x256(acc[0][c], acc[1][c], acc[2][c], acc[3][c]));
}

struct Q8TilesVnni {
  static constexpr int kMax = 3;
  template <int C>
  MCTR_VNNI static void run(const BlockQ8* const* wr, const BlockQ8* const* xt, size_t nb, float* out,
                            size_t out_stride) {
    tile_q8_vnni<C>(wr, xt, nb, out, out_stride);
  }
};

// ggml's AVX2 quantize_row_q8_0, but rounding half away from zero like the scalar roundf.
MCTR_AVX2 static void quantize_row_q8_0_avx2(const float* x, BlockQ8* out, size_t n) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (size_t b = 0; b < n / kQK8; b++) {
    const float* p = x + b * kQK8;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
      v[k] = _mm256_loadu_ps(p + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    float d = _mm_cvtss_f32(m) / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
      __m256 s = _mm256_mul_ps(v[k], _mm256_set1_ps(id));
      // Half away from zero: trunc(|s|), plus 1 when the fraction is >= 0.5, then s's sign.
      // (Adding 0.5 before truncating would round 0.49999997 up to 1.)
      __m256 a = _mm256_andnot_ps(sign_bit, s);
      __m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      __m256 up = _mm256_cmp_ps(_mm256_sub_ps(a, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
      __m256 r = _mm256_add_ps(t, _mm256_and_ps(up, _mm256_set1_ps(1.0f)));
      q[k] = _mm256_cvtps_epi32(_mm256_or_ps(r, _mm256_and_ps(sign_bit, s)));
    }
    // 32 x int32 -> 32 x int8 (values are within [-127, 127]); packs interleave the lanes.
    __m256i q01 = _mm256_packs_epi32(q[0], q[1]);
    __m256i q23 = _mm256_packs_epi32(q[2], q[3]);
    __m256i q8 = _mm256_packs_epi16(q01, q23);
    q8 = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), q8);
  }
}

template <typename K, typename V>
MCTR_AVX2 static void attend_avx2_t(const float* q, const K* k, const V* v, size_t stride, int n_keys, int hd,
                                    float scale, float* att, float* out) {
  if (hd % 8) return attend_scalar_t(q, k, v, stride, n_keys, hd, scale, att, out);
  float maxv = -INFINITY;
  for (int t = 0; t < n_keys; t++) {
    att[t] = dot_avx2(k + t * stride, q, hd) * scale;
    maxv = std::fmax(maxv, att[t]);
  }
  float sum = 0;
  for (int t = 0; t < n_keys; t++) sum += att[t] = std::exp(att[t] - maxv);
  const float inv = 1.0f / sum;
  for (int i = 0; i < hd; i += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int t = 0; t < n_keys; t++)
      acc = _mm256_fmadd_ps(_mm256_set1_ps(att[t]), load8(v + t * stride + i), acc);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
  }
}

static void attend_avx2(const float* q, KvRows k, KvRows v, size_t stride, int n_keys, int hd, float scale,
                        float* att, float* out) {
  with_kv_types(k, v,
                [&](auto* kp, auto* vp) { attend_avx2_t(q, kp, vp, stride, n_keys, hd, scale, att, out); });
}

namespace {
struct Dispatch {
  bool simd;
  float (*f32)(const float*, const float*, size_t);
  float (*f16)(const uint16_t*, const float*, size_t);
  float (*q8)(const BlockQ8*, const BlockQ8*, size_t);
  void (*rows_f32)(const void*, size_t, int, const float*, size_t, float*);
  void (*rows_f16)(const void*, size_t, int, const float*, size_t, float*);
  void (*rows_q8)(const void*, size_t, int, const BlockQ8*, size_t, float*);
  void (*rows2_f32)(const void*, size_t, int, const float*, const float*, size_t, float*, float*);
  void (*rows2_f16)(const void*, size_t, int, const float*, const float*, size_t, float*, float*);
  void (*batch_f32)(const void*, size_t, int, const float*, size_t, int, size_t, float*, size_t);
  void (*batch_f16)(const void*, size_t, int, const float*, size_t, int, size_t, float*, size_t);
  void (*batch_q8)(const void*, size_t, int, const BlockQ8*, size_t, int, size_t, float*, size_t);
  void (*quantize_q8)(const float*, BlockQ8*, size_t);
  void (*attend)(const float*, KvRows, KvRows, size_t, int, int, float, float*, float*);
  DotKernels dots;
  const char* batch_name;
};

// F16C from cpuid itself: clang before 15 rejects "f16c" in __builtin_cpu_supports
// (the fuzz build, scripts/fuzz, compiles this file with Debian's clang 14).
bool cpu_has_f16c() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

Dispatch pick() {
  const char* off = std::getenv("MINICTR_INFER_NO_SIMD");
  bool no_simd = off && *off && std::strcmp(off, "0") != 0;
  __builtin_cpu_init();
  if (!no_simd && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
    const char* no512 = std::getenv("MINICTR_INFER_NO_AVX512");
    const bool allow512 = !(no512 && *no512 && std::strcmp(no512, "0") != 0);
    const bool vnni = allow512 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    const bool avx512 = allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    return {true,
            dot_f32_avx2,
            dot_f16_avx2,
            dot_q8_0_avx2,
            dot_rows_f32_avx2,
            dot_rows_f16_avx2,
            dot_rows_q8_0_avx2,
            dot_rows2_f32_avx2,
            dot_rows2_f16_avx2,
            avx512 ? matmul_batch_f32_avx512 : matmul_batch_f32_avx2,
            avx512 ? matmul_batch_f16_avx512 : matmul_batch_f16_avx2,
            vnni ? matmul_batch_q8_0_blocked<Q8TilesVnni> : matmul_batch_q8_0_blocked<Q8TilesAvx2>,
            quantize_row_q8_0_avx2,
            attend_avx2,
            {dot_f32_avx2, dot_f16_avx2, dot_q8_0_avx2},
            avx512 ? "avx512" : "avx2"};
  }
  return {false,
          dot_f32_scalar,
          dot_f16_scalar,
          dot_q8_0_scalar,
          dot_rows_f32_scalar,
          dot_rows_f16_scalar,
          dot_rows_q8_0_scalar,
          dot_rows2_f32_scalar,
          dot_rows2_f16_scalar,
          matmul_batch_f32_scalar,
          matmul_batch_f16_scalar,
          matmul_batch_q8_0_scalar,
          quantize_row_q8_0_scalar,
          static_cast<void (*)(const float*, KvRows, KvRows, size_t, int, int, float, float*, float*)>(
              attend_scalar),
          {dot_f32_scalar, dot_f16_scalar, dot_q8_0_scalar},
          "scalar"};
}

const Dispatch& dispatch() {
  static const Dispatch d = pick();
  return d;
}
}  // namespace

bool simd_enabled() { return dispatch().simd; }
const char* batch_kernel_name() { return dispatch().batch_name; }

std::vector<BatchKernels> batch_kernel_variants() {
  std::vector<BatchKernels> v = {{"scalar", matmul_batch_f32_scalar, matmul_batch_f16_scalar}};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
    v.push_back({"avx2", matmul_batch_f32_avx2, matmul_batch_f16_avx2});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
      v.push_back({"avx512", matmul_batch_f32_avx512, matmul_batch_f16_avx512});
  }
  return v;
}
const DotKernels& dot_kernels() { return dispatch().dots; }
void dot_rows2_f32(const void* w, size_t row_bytes, int n_rows, const float* x0, const float* x1, size_t n,
                   float* out0, float* out1) {
  dispatch().rows2_f32(w, row_bytes, n_rows, x0, x1, n, out0, out1);
}
void dot_rows2_f16(const void* w, size_t row_bytes, int n_rows, const float* x0, const float* x1, size_t n,
                   float* out0, float* out1) {
  dispatch().rows2_f16(w, row_bytes, n_rows, x0, x1, n, out0, out1);
}
size_t attend_batch_scratch(int n_q, int n_keys, int hd) {
  return static_cast<size_t>(n_q) * n_keys + static_cast<size_t>(hd) * n_keys;
}

void attend_batch(const float* q, size_t q_stride, int n_q, int pos0, KvRows k, KvRows v, size_t kv_stride,
                  int hd, float scale, float* scratch, float* out, size_t out_stride) {
  const int n_keys = pos0 + n_q;
  float* p = scratch;                                       // [n_q][n_keys] scores, then weights
  float* vt = scratch + static_cast<size_t>(n_q) * n_keys;  // [hd][n_keys] values, transposed
  if (k.type == GgmlType::F16)  // the F16 weight kernels read F16 keys as they are
    matmul_batch_f16(k.data, kv_stride * sizeof(uint16_t), n_keys, q, q_stride, n_q, hd, p, n_keys);
  else
    matmul_batch_f32(k.data, kv_stride * sizeof(float), n_keys, q, q_stride, n_q, hd, p, n_keys);
  for (int t = 0; t < n_q; t++) {
    float* row = p + static_cast<size_t>(t) * n_keys;
    const int seen = pos0 + t + 1;  // causal: later keys get weight 0
    float maxv = -INFINITY;
    for (int j = 0; j < seen; j++) maxv = std::max(maxv, row[j] *= scale);  // (std::fmax is a libm call)
    float sum = 0;
    for (int j = 0; j < seen; j++) sum += row[j] = std::exp(row[j] - maxv);
    const float inv = 1.0f / sum;
    for (int j = 0; j < seen; j++) row[j] *= inv;
    std::fill(row + seen, row + n_keys, 0.0f);
  }
  if (v.type == GgmlType::F16) {
    const auto* v16 = static_cast<const uint16_t*>(v.data);
    for (int j = 0; j < n_keys; j++)
      for (int i = 0; i < hd; i++)
        vt[static_cast<size_t>(i) * n_keys + j] = fp16_to_fp32(v16[j * kv_stride + i]);
  } else {
    const auto* v32 = static_cast<const float*>(v.data);
    for (int j = 0; j < n_keys; j++)
      for (int i = 0; i < hd; i++) vt[static_cast<size_t>(i) * n_keys + j] = v32[j * kv_stride + i];
  }
  matmul_batch_f32(vt, static_cast<size_t>(n_keys) * sizeof(float), hd, p, n_keys, n_q, n_keys, out,
                   out_stride);
}

void matmul_batch_f32(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride, int n_tok,
                      size_t n, float* out, size_t out_stride) {
  dispatch().batch_f32(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
}
void matmul_batch_f16(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride, int n_tok,
                      size_t n, float* out, size_t out_stride) {
  dispatch().batch_f16(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
}
void matmul_batch_q8_0(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t xq_stride,
                       int n_tok, size_t n, float* out, size_t out_stride) {
  dispatch().batch_q8(w, row_bytes, n_rows, xq, xq_stride, n_tok, n, out, out_stride);
}
void quantize_row_q8_0(const float* x, BlockQ8* out, size_t n) { dispatch().quantize_q8(x, out, n); }
void attend(const float* q, KvRows k, KvRows v, size_t stride, int n_keys, int hd, float scale, float* att,
            float* out) {
  dispatch().attend(q, k, v, stride, n_keys, hd, scale, att, out);
}
void attend(const float* q, const float* k, const float* v, size_t stride, int n_keys, int hd, float scale,
            float* att, float* out) {
  attend(q, {GgmlType::F32, k}, {GgmlType::F32, v}, stride, n_keys, hd, scale, att, out);
}
float dot_f32(const float* w, const float* x, size_t n) { return dispatch().f32(w, x, n); }
float dot_f16(const uint16_t* w, const float* x, size_t n) { return dispatch().f16(w, x, n); }
float dot_q8_0(const BlockQ8* w, const BlockQ8* xq, size_t n) { return dispatch().q8(w, xq, n); }
void dot_rows_f32(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out) {
  dispatch().rows_f32(w, row_bytes, n_rows, x, n, out);
}
void dot_rows_f16(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out) {
  dispatch().rows_f16(w, row_bytes, n_rows, x, n, out);
}
void dot_rows_q8_0(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t n, float* out) {
  dispatch().rows_q8(w, row_bytes, n_rows, xq, n, out);
}

}  // namespace mctr::infer
