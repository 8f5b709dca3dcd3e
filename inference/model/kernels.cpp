#include "model/kernels.h"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

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

void fp32_to_fp16_row_scalar(const float* x, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = fp32_to_fp16(x[i]);
}

void rmsnorm_scalar(float* out, const float* x, const float* w, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; i++) ss += static_cast<double>(x[i]) * x[i];
  float scale = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void swiglu_scalar(float* g, const float* u, size_t n) {
  for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void softmax_scaled_scalar(float* row, int n, float scale) {
  float maxv = -INFINITY;
  for (int j = 0; j < n; j++) maxv = std::max(maxv, row[j] *= scale);  // (std::fmax is a libm call)
  float sum = 0;
  for (int j = 0; j < n; j++) sum += row[j] = std::exp(row[j] - maxv);
  const float inv = 1.0f / sum;
  for (int j = 0; j < n; j++) row[j] *= inv;
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
// _mm_prefetch's hint: an enum in GCC's headers, an int in clang's.
using PrefetchHint = decltype(_MM_HINT_NTA);

// Ahead > 0: prefetch w that many bytes ahead, one line per 64 bytes, with `Hint` (dot_rows_avx2
// below says why).
template <typename T, size_t Ahead = 0, PrefetchHint Hint = _MM_HINT_NTA>
MCTR_AVX2 static float dot_avx2(const T* w, const float* x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
         a3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    if constexpr (Ahead > 0)
      for (size_t b = 0; b < 32 * sizeof(T); b += 64)
        _mm_prefetch(reinterpret_cast<const char*>(w + i) + Ahead + b, Hint);
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

// One token's matvec (generation): one row after the other, each the floats dot_avx2 gives, so
// the weights stream from memory in order (four rows sharing each x load streamed F16 slower on
// Zen 2). The rows are prefetched ahead. Weights larger than the last-level cache (kStreamed)
// are read once per token from memory: PREFETCHNTA keeps that stream from being written back
// into the L3 (on Zen 2 a victim cache of the L2s) and from evicting what is worth keeping
// there (the KV cache, the activations). Weights that fit in it (kCached) must stay there for
// the next token: with the non-temporal hint every token read them from memory again. F16 and
// Q8_0 loops spend more micro-ops per 64 bytes (vcvtph2ps is two; a Q8_0 block several), so
// they prefetch further ahead. Measurements: docs/performance.md.
template <typename T, PrefetchHint Hint>
MCTR_AVX2 static void dot_rows_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                    float* out) {
  constexpr size_t kAhead = sizeof(T) == 2 ? 1024 : 256;
  for (int r = 0; r < n_rows; r++)
    out[r] = dot_avx2<T, kAhead, Hint>(
        reinterpret_cast<const T*>(static_cast<const uint8_t*>(w) + r * row_bytes), x, n);
}

// F16 rows streamed on a core whose hardware prefetchers keep enough of one stream in flight
// (kStreamedNoPrefetch): on a Zen 4 they stream faster one row at a time with no software
// prefetch, which there only gets in the way. F32 and Q8_0 rows keep theirs (the four bands,
// the NTA prefetch): without, the 15M F32 rows (short, 1152 bytes) were slower on that Zen 4
// and Q8_0 did not move. On Zen 2 the prefetch was what made the F16 rows fast (above).
// Measurements: docs/performance.md.
template <typename T>
MCTR_AVX2 static void dot_rows_plain_avx2(const void* w, size_t row_bytes, int n_rows, const float* x,
                                          size_t n, float* out) {
  for (int r = 0; r < n_rows; r++)
    out[r] = dot_avx2<T>(reinterpret_cast<const T*>(static_cast<const uint8_t*>(w) + r * row_bytes), x, n);
}

template <typename T>
MCTR_AVX2 static void dot_rows_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                    float* out, RowFetch fetch) {
  if (fetch == RowFetch::kStreamedNoPrefetch)
    dot_rows_plain_avx2<T>(w, row_bytes, n_rows, x, n, out);
  else if (fetch == RowFetch::kStreamed)
    dot_rows_avx2<T, _MM_HINT_NTA>(w, row_bytes, n_rows, x, n, out);
  else
    dot_rows_avx2<T, _MM_HINT_T0>(w, row_bytes, n_rows, x, n, out);
}

// F32 rows streamed from memory (kStreamed): the rows split in kBands bands, one row of each
// band at a time. One core keeps more reads in flight for several sequential streams far apart
// than for one: on this Zen 2, 110M-shaped F32 rows read at ~18 GB/s as one stream and ~26 GB/s
// as four (docs/performance.md). Each row gets the floats dot_avx2 gives it: the same four
// accumulators in the same order, the same tails.
template <int kBands>
MCTR_AVX2 static void dot_bands_f32_avx2(const void* w, size_t row_bytes, int n_rows, const float* x,
                                         size_t n, float* out) {
  constexpr size_t kAhead = 256;
  const int per_band = n_rows / kBands;
  auto row = [&](int r) {
    return reinterpret_cast<const float*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  for (int q = 0; q < per_band; q++) {
    const float* wr[kBands];
    __m256 a[kBands][4];
    for (int b = 0; b < kBands; b++) {
      wr[b] = row(q + b * per_band);
      for (auto& acc : a[b]) acc = _mm256_setzero_ps();
    }
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8),
                   x2 = _mm256_loadu_ps(x + i + 16), x3 = _mm256_loadu_ps(x + i + 24);
      for (int b = 0; b < kBands; b++) {
        _mm_prefetch(reinterpret_cast<const char*>(wr[b] + i) + kAhead, _MM_HINT_NTA);
        _mm_prefetch(reinterpret_cast<const char*>(wr[b] + i) + kAhead + 64, _MM_HINT_NTA);
        a[b][0] = _mm256_fmadd_ps(_mm256_loadu_ps(wr[b] + i), x0, a[b][0]);
        a[b][1] = _mm256_fmadd_ps(_mm256_loadu_ps(wr[b] + i + 8), x1, a[b][1]);
        a[b][2] = _mm256_fmadd_ps(_mm256_loadu_ps(wr[b] + i + 16), x2, a[b][2]);
        a[b][3] = _mm256_fmadd_ps(_mm256_loadu_ps(wr[b] + i + 24), x3, a[b][3]);
      }
    }
    for (int b = 0; b < kBands; b++) {
      size_t j = i;
      for (; j + 8 <= n; j += 8)
        a[b][0] = _mm256_fmadd_ps(_mm256_loadu_ps(wr[b] + j), _mm256_loadu_ps(x + j), a[b][0]);
      float s = hsum256(_mm256_add_ps(_mm256_add_ps(a[b][0], a[b][1]), _mm256_add_ps(a[b][2], a[b][3])));
      for (; j < n; j++) s += wr[b][j] * x[j];
      out[q + b * per_band] = s;
    }
  }
  const int done = per_band * kBands;
  dot_rows_avx2<float, _MM_HINT_NTA>(row(done), row_bytes, n_rows - done, x, n, out + done);
}

// (The bands for kStreamedNoPrefetch too: see dot_rows_plain_avx2.)
MCTR_AVX2 static void dot_rows_f32_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                        float* out, RowFetch fetch) {
  if (fetch != RowFetch::kCached) return dot_bands_f32_avx2<4>(w, row_bytes, n_rows, x, n, out);
  dot_rows_avx2<float>(w, row_bytes, n_rows, x, n, out, fetch);
}
MCTR_AVX2 static void dot_rows_f16_avx2(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n,
                                        float* out, RowFetch fetch) {
  dot_rows_avx2<uint16_t>(w, row_bytes, n_rows, x, n, out, fetch);
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

// Ahead > 0: prefetch w that many bytes ahead, once per two blocks (68 bytes), with `Hint`.
template <size_t Ahead = 0, PrefetchHint Hint = _MM_HINT_NTA>
MCTR_AVX2 static float dot_q8_0_avx2(const BlockQ8* w, const BlockQ8* xq, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  const size_t nb = n / kQK8;
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    if constexpr (Ahead > 0) _mm_prefetch(reinterpret_cast<const char*>(w + b) + Ahead, Hint);
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

// One token's matvec: one row after the other (dot_q8_0_avx2's floats), prefetched 2 KB ahead
// as dot_rows_avx2 does. Four neighbouring rows at once sharing the x loads were slower.
template <PrefetchHint Hint>
MCTR_AVX2 static void dot_rows_q8_0_avx2(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                                         size_t n, float* out) {
  for (int r = 0; r < n_rows; r++)
    out[r] = dot_q8_0_avx2<2048, Hint>(
        reinterpret_cast<const BlockQ8*>(static_cast<const uint8_t*>(w) + r * row_bytes), xq, n);
}

// Q8_0 rows streamed from memory: in four bands far apart, one row of each at a time, as the
// F32 rows (dot_bands_f32_avx2: one core keeps more reads in flight for four streams than for
// one), each band prefetched 256 bytes ahead (with or without kStreamedNoPrefetch: the bands
// without a prefetch were slower). Measured on a Zen 4 only (docs/performance.md).
// A step computes the rows wr[0..3] over all nb blocks, each with dot_q8_0_avx2's two
// accumulators (even and odd blocks) in its order: the same floats. Each block of the
// activations is loaded once for the four rows.
constexpr int kQ8Bands = 4;
constexpr size_t kQ8BandAhead = 256;

// acc + d_w * d_x * (the block's eight int32 sums of w * x)
MCTR_AVX2 static inline __m256 q8_block_fma(const BlockQ8& w, __m256i qx, float dx, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w.d) * dx), q8_block_dot(q8_load(w), qx), acc);
}

MCTR_AVX2 static void q8_bands_step_avx2(const BlockQ8* const* wr, const BlockQ8* xq, size_t nb, float* out) {
  __m256 a0[kQ8Bands], a1[kQ8Bands];
  for (int k = 0; k < kQ8Bands; k++) a0[k] = a1[k] = _mm256_setzero_ps();
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i x0 = q8_load(xq[b]), x1 = q8_load(xq[b + 1]);
    const float d0 = _cvtsh_ss(xq[b].d), d1 = _cvtsh_ss(xq[b + 1].d);
    for (int k = 0; k < kQ8Bands; k++) {
      _mm_prefetch(reinterpret_cast<const char*>(wr[k] + b) + kQ8BandAhead, _MM_HINT_NTA);
      a0[k] = q8_block_fma(wr[k][b], x0, d0, a0[k]);
      a1[k] = q8_block_fma(wr[k][b + 1], x1, d1, a1[k]);
    }
  }
  if (b < nb) {  // an odd block count: the last block goes to the even accumulators
    const __m256i x = q8_load(xq[b]);
    const float d = _cvtsh_ss(xq[b].d);
    for (int k = 0; k < kQ8Bands; k++) a0[k] = q8_block_fma(wr[k][b], x, d, a0[k]);
  }
  for (int k = 0; k < kQ8Bands; k++) out[k] = hsum256(_mm256_add_ps(a0[k], a1[k]));
}

// The bands around a step (AVX2's above, or VNNI's below); the rows left over (n_rows % 4)
// one at a time.
template <void (*Step)(const BlockQ8* const*, const BlockQ8*, size_t, float*)>
static void dot_bands_q8_0(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t n,
                           float* out) {
  auto row = [&](int r) {
    return reinterpret_cast<const BlockQ8*>(static_cast<const uint8_t*>(w) + r * row_bytes);
  };
  const int per_band = n_rows / kQ8Bands;
  for (int q = 0; q < per_band; q++) {
    const BlockQ8* wr[kQ8Bands];
    float sums[kQ8Bands];
    for (int k = 0; k < kQ8Bands; k++) wr[k] = row(q + k * per_band);
    Step(wr, xq, n / kQK8, sums);
    for (int k = 0; k < kQ8Bands; k++) out[q + k * per_band] = sums[k];
  }
  const int done = per_band * kQ8Bands;
  dot_rows_q8_0_avx2<_MM_HINT_NTA>(row(done), row_bytes, n_rows - done, xq, n, out + done);
}

MCTR_AVX2 static void dot_rows_q8_0_avx2(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                                         size_t n, float* out, RowFetch fetch) {
  if (fetch != RowFetch::kCached)
    dot_bands_q8_0<q8_bands_step_avx2>(w, row_bytes, n_rows, xq, n, out);
  else
    dot_rows_q8_0_avx2<_MM_HINT_T0>(w, row_bytes, n_rows, xq, n, out);
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
    // The n % 8 tail as explicit FMAs: GCC contracted a * b + s into one in some unrolled copies
    // and not in others, so F32 and F16 rows of the same values gave different floats.
    for (size_t j = i; j < n; j++)
      for (int k = 0; k < R; k++) s[k] = std::fma(to_float(wr[k][j]), xt[c][j], s[k]);
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
// n halves to floats (vcvtph2ps is exact: the same floats as fp16_to_fp32).
MCTR_AVX2 static void widen_f16_row(const uint16_t* h, float* f, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; i++) f[i] = fp16_to_fp32(h[i]);
}

// F16 weights against 6 or more tokens: each L2-sized block of rows is widened to floats once
// and the F32 tiles run on it. The 4 x 3 F16 tile converts every weight vector again for each 3
// tokens, and vcvtph2ps is two micro-ops on Zen 2. The same products in the same order, so the
// same floats as the F16 tiles; fewer tokens keep those (widening a row would cost more than
// the one or two conversions it saves).
MCTR_AVX2 static void matmul_batch_f16_avx2(const void* w, size_t row_bytes, int n_rows, const float* x,
                                            size_t x_stride, int n_tok, size_t n, float* out,
                                            size_t out_stride) {
  constexpr int kMinTokens = 6;
  if (n_tok < kMinTokens)
    return matmul_batch_avx2<uint16_t>(w, row_bytes, n_rows, x, x_stride, n_tok, n, out, out_stride);
  const int rb = fit_in_block(n * sizeof(float), 4);
  thread_local std::vector<float> wide;
  wide.resize(static_cast<size_t>(rb) * n);
  for (int r0 = 0; r0 < n_rows; r0 += rb) {
    const int rows = std::min(rb, n_rows - r0);
    for (int r = 0; r < rows; r++)
      widen_f16_row(reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(w) + (r0 + r) * row_bytes),
                    wide.data() + static_cast<size_t>(r) * n, n);
    matmul_batch_avx2<float>(wide.data(), n * sizeof(float), rows, x, x_stride, n_tok, n, out + r0,
                             out_stride);
  }
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

// One tile: rows wr[0..R) against tokens t..t+C.
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

// The tiles of rows wr[0..R) against tokens t0..t1: as few tiles as kTok512 tokens each allow,
// their sizes differing by at most one (44 tokens: 4 x 6 + 4 x 5, not 7 x 6 + 2: a tile of
// 2 tokens does a third of a full tile's FMAs for the same weight loads). The first tile
// prefetches pf's rows (when given), the others find wr's rows in L1/L2.
template <typename T, int R>
MCTR_AVX512 static void tiles_for_rows_avx512(const T* const* wr, const float* x, size_t x_stride, int t0,
                                              int t1, size_t n, float* out, size_t out_stride,
                                              const T* const* pf) {
  using Tile = void (*)(const T* const*, const float*, size_t, int, size_t, float*, size_t, const T* const*);
  // tile_at_avx512 by its number of tokens
  static constexpr Tile kTileOf[kTok512 + 1] = {nullptr,
                                                tile_at_avx512<T, R, 1>,
                                                tile_at_avx512<T, R, 2>,
                                                tile_at_avx512<T, R, 3>,
                                                tile_at_avx512<T, R, 4>,
                                                tile_at_avx512<T, R, 5>,
                                                tile_at_avx512<T, R, 6>};
  static_assert(kTok512 == 6, "kTileOf has an entry for each tile size up to kTok512");
  const int n_tok = t1 - t0, n_tiles = (n_tok + kTok512 - 1) / kTok512;
  int t = t0;
  for (int k = 0; k < n_tiles; k++) {
    const int size = n_tok / n_tiles + (k < n_tok % n_tiles ? 1 : 0);
    kTileOf[size](wr, x, x_stride, t, n, out, out_stride, k == 0 ? pf : nullptr);
    t += size;
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
// tokens; each row's block sums in block order, one accumulator per row and token.
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

// The rows r..r+count-1 of a weight matrix of n_rows rows, for the kernels that repack a group
// of rows at a time; rows past the last repeat it (the kernels give them scale 0).
static void row_group(const uint8_t* base, size_t row_bytes, int n_rows, int r, int count,
                      const BlockQ8** wr) {
  for (int i = 0; i < count; i++)
    wr[i] =
        reinterpret_cast<const BlockQ8*>(base + static_cast<size_t>(std::min(r + i, n_rows - 1)) * row_bytes);
}

// ---- AVX2 Q8_0 prompt-batch matmul: 8 rows in the lanes of one vector ----
//
// The AVX2 analogue of the VNNI-512 kernel below. The 4 x 2 tiles above spend, for every (row,
// token, block), a sign, a conversion, a scale broadcast and an FMA besides the maddubs + madd
// pair that does the 32 multiply-adds. Here a vector's 8 dword lanes are 8 ROWS: the weights of
// a group of 8 rows are repacked once per matmul (an 8 x 8 dword transpose per block, into a
// buffer that stays in L1/L2) so that vector j of block b holds bytes 4j..4j+3 of that block of
// each row, and a token's bytes 4j..4j+3 are broadcast to every lane. Per block and token, 8 x
// (sign, maddubs, madd, add) give each lane its row's exact integer block sum, and one
// conversion and one FMA (the 8 rows' scales times the token's) serve 8 rows.
//
// maddubs multiplies unsigned by signed bytes: |w| by x with w's sign moved onto it (as
// ggml does). Its int16 pair sums stay below 2 * 128 * 127 < 32767, exact as long as x is not
// -128, which quantize_row_q8_0 never gives. Per block the float work is the scalar kernel's
// dw * dx * sum added in (as one FMA), so the results match it to a rounding per block.
constexpr int kQ8Rows8 = 8;
constexpr int kQ8Tokens8 = 4;
// A packed block of a group: 8 float scales, then 8 vectors of 8 x 4 bytes.
constexpr size_t kQ8Packed8 = kQ8Rows8 * sizeof(float) + 8 * 32;

// Packs rows wr[0..8) of nb blocks into pk (rows at or past n_rows get scale 0; their pointers
// must still be readable). Per block, an 8 x 8 transpose of dwords: unpacks of 32 and 64 bits
// within the 128-bit halves, then one permute of the halves.
MCTR_AVX2 static void pack_q8_group8(const BlockQ8* const* wr, int n_rows, size_t nb, uint8_t* pk) {
  for (size_t b = 0; b < nb; b++) {
    uint8_t* blk = pk + b * kQ8Packed8;
    alignas(16) uint16_t d[kQ8Rows8];
    for (int i = 0; i < kQ8Rows8; i++) d[i] = i < n_rows ? wr[i][b].d : 0;
    _mm256_storeu_ps(reinterpret_cast<float*>(blk),
                     _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d))));
    __m256i r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = q8_load(wr[i][b]);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);      // dwords 0, 1 (and 4, 5) of rows i, i+1
      t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);  // dwords 2, 3 (and 6, 7)
    }
    for (int h = 0; h < 8; h += 4) {  // u[h + e]: dword e (and e + 4) of rows h..h+3
      u[h] = _mm256_unpacklo_epi64(t[h], t[h + 2]);
      u[h + 1] = _mm256_unpackhi_epi64(t[h], t[h + 2]);
      u[h + 2] = _mm256_unpacklo_epi64(t[h + 1], t[h + 3]);
      u[h + 3] = _mm256_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    auto* v = reinterpret_cast<__m256i*>(blk + kQ8Rows8 * sizeof(float));
    for (int e = 0; e < 4; e++) {
      _mm256_storeu_si256(v + e, _mm256_permute2x128_si256(u[e], u[e + 4], 0x20));
      _mm256_storeu_si256(v + e + 4, _mm256_permute2x128_si256(u[e], u[e + 4], 0x31));
    }
  }
}

// One 8-row x C-token tile over the packed group pk, its results stored in the lanes of
// `rows`; with pf, the next group's rows (from memory) are prefetched along the way.
template <int C>
MCTR_AVX2 static void tile_q8_rows8(const uint8_t* pk, const BlockQ8* const* xt, size_t nb, float* out,
                                    size_t out_stride, __m256i rows, const BlockQ8* const* pf) {
  __m256 acc[C];
  for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (size_t b = 0; b < nb; b++) {
    if (pf)
      for (int i = 0; i < kQ8Rows8; i++) _mm_prefetch(reinterpret_cast<const char*>(pf[i] + b), _MM_HINT_T0);
    const uint8_t* blk = pk + b * kQ8Packed8;
    const auto* v = reinterpret_cast<const __m256i*>(blk + kQ8Rows8 * sizeof(float));
    // s[c]: token c's integer block sums of the 8 rows. (With the j loop unrolled 8 times, GCC
    // computed all 32 products first and spilled them to the stack.)
    __m256i s[C];
    for (int c = 0; c < C; c++) s[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int j = 0; j < 8; j++) {
      const __m256i w = _mm256_loadu_si256(v + j), aw = _mm256_abs_epi8(w);
#pragma GCC unroll 4
      for (int c = 0; c < C; c++) {
        int32_t x4;
        std::memcpy(&x4, xt[c][b].qs + 4 * j, 4);
        const __m256i p =
            _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(_mm256_set1_epi32(x4), w)), ones);
        s[c] = _mm256_add_epi32(s[c], p);
      }
    }
    const __m256 dw = _mm256_loadu_ps(reinterpret_cast<const float*>(blk));
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
      const __m256 dx = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(xt[c][b].d)));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[c]), _mm256_mul_ps(dw, dx), acc[c]);
    }
  }
  // A whole group takes plain stores: a masked store is microcoded on AMD CPUs (see Full8).
  if (_mm256_movemask_ps(_mm256_castsi256_ps(rows)) == 0xFF) {
    for (int c = 0; c < C; c++) _mm256_storeu_ps(out + c * out_stride, acc[c]);
  } else {
    for (int c = 0; c < C; c++) _mm256_maskstore_ps(out + c * out_stride, rows, acc[c]);
  }
}

template <int C>
MCTR_AVX2 static void tile_q8_rows8_at(const uint8_t* pk, const BlockQ8* xq, size_t xq_stride, int t,
                                       size_t nb, float* out, size_t out_stride, __m256i rows,
                                       const BlockQ8* const* pf) {
  const BlockQ8* xt[C];
  for (int c = 0; c < C; c++) xt[c] = xq + (t + c) * xq_stride;
  tile_q8_rows8<C>(pk, xt, nb, out + t * out_stride, out_stride, rows, pf);
}

MCTR_AVX2 static void matmul_batch_q8_0_avx2(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                                             size_t xq_stride, int n_tok, size_t n, float* out,
                                             size_t out_stride) {
  // A few tokens do not pay for the packing: the 4-row tiles read the rows as they are.
  if (n_tok < 4)
    return matmul_batch_q8_0_blocked<Q8TilesAvx2>(w, row_bytes, n_rows, xq, xq_stride, n_tok, n, out,
                                                  out_stride);
  const size_t nb = n / kQK8;
  thread_local std::vector<uint8_t> packed;
  packed.resize(nb * kQ8Packed8);
  const auto* base = static_cast<const uint8_t*>(w);
  auto group = [&](int r, const BlockQ8** wr) { row_group(base, row_bytes, n_rows, r, kQ8Rows8, wr); };
  const BlockQ8* wr[kQ8Rows8];
  const BlockQ8* next[kQ8Rows8];
  group(0, wr);
  for (int r = 0; r < n_rows; r += kQ8Rows8) {
    const int rows = std::min(kQ8Rows8, n_rows - r);
    pack_q8_group8(wr, rows, nb, packed.data());
    const bool more = r + kQ8Rows8 < n_rows;
    if (more) group(r + kQ8Rows8, next);
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(rows), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const uint8_t* pk = packed.data();
    int t = 0;
    for (; t + kQ8Tokens8 <= n_tok; t += kQ8Tokens8)
      tile_q8_rows8_at<kQ8Tokens8>(pk, xq, xq_stride, t, nb, out + r, out_stride, mask,
                                   t == 0 && more ? next : nullptr);
    const BlockQ8* const* pf = t == 0 && more ? next : nullptr;
    switch (n_tok - t) {
      case 3:
        tile_q8_rows8_at<3>(pk, xq, xq_stride, t, nb, out + r, out_stride, mask, pf);
        break;
      case 2:
        tile_q8_rows8_at<2>(pk, xq, xq_stride, t, nb, out + r, out_stride, mask, pf);
        break;
      case 1:
        tile_q8_rows8_at<1>(pk, xq, xq_stride, t, nb, out + r, out_stride, mask, pf);
        break;
      default:
        break;
    }
    if (more) std::copy(next, next + kQ8Rows8, wr);
  }
}

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

// A block of activations for vpdpbusd: its quants, its scale, and where its lanes start,
// -128 * (the sum of each lane's four x's), as in tile_q8_vnni.
struct Q8VnniX {
  __m256i q, start;
  float d;
};
MCTR_VNNI static inline Q8VnniX q8_vnni_x(const BlockQ8& x) {
  const __m256i q = q8_load(x), bias = _mm256_set1_epi8(static_cast<char>(0x80));
  return {q, _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, q)),
          _cvtsh_ss(x.d)};
}
MCTR_VNNI static inline __m256 q8_vnni_block_fma(const BlockQ8& w, const Q8VnniX& x, __m256 acc) {
  const __m256i wu = _mm256_xor_si256(q8_load(w), _mm256_set1_epi8(static_cast<char>(0x80)));
  const __m256i sums = _mm256_dpbusd_epi32(x.start, wu, x.q);
  return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w.d) * x.d), _mm256_cvtepi32_ps(sums), acc);
}

// The streamed rows' step (q8_bands_step_avx2) with vpdpbusd, the weights made unsigned as in
// tile_q8_vnni: the same integers, so the same floats, in fewer instructions per block. (A
// twin, not one template: a template gets one target attribute, and the AVX2 step compiled for
// AVX-512 may use EVEX encodings a CPU without AVX-512 cannot run.)
MCTR_VNNI static void q8_bands_step_vnni(const BlockQ8* const* wr, const BlockQ8* xq, size_t nb, float* out) {
  __m256 a0[kQ8Bands], a1[kQ8Bands];
  for (int k = 0; k < kQ8Bands; k++) a0[k] = a1[k] = _mm256_setzero_ps();
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const Q8VnniX x0 = q8_vnni_x(xq[b]), x1 = q8_vnni_x(xq[b + 1]);
    for (int k = 0; k < kQ8Bands; k++) {
      _mm_prefetch(reinterpret_cast<const char*>(wr[k] + b) + kQ8BandAhead, _MM_HINT_NTA);
      a0[k] = q8_vnni_block_fma(wr[k][b], x0, a0[k]);
      a1[k] = q8_vnni_block_fma(wr[k][b + 1], x1, a1[k]);
    }
  }
  if (b < nb) {  // an odd block count: the last block goes to the even accumulators
    const Q8VnniX x = q8_vnni_x(xq[b]);
    for (int k = 0; k < kQ8Bands; k++) a0[k] = q8_vnni_block_fma(wr[k][b], x, a0[k]);
  }
  for (int k = 0; k < kQ8Bands; k++) out[k] = hsum256(_mm256_add_ps(a0[k], a1[k]));
}

MCTR_VNNI static void dot_rows_q8_0_vnni(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                                         size_t n, float* out, RowFetch fetch) {
  if (fetch != RowFetch::kCached)
    dot_bands_q8_0<q8_bands_step_vnni>(w, row_bytes, n_rows, xq, n, out);
  else
    dot_rows_q8_0_avx2<_MM_HINT_T0>(w, row_bytes, n_rows, xq, n, out);
}

// ---- AVX-512 VNNI Q8_0 prompt-batch matmul: 16 rows in the lanes of one vector ----
//
// The tiles above put a block's 32 products in the lanes of a vector (8 lanes of 4), so every
// (row, token, block) costs a vpdpbusd plus a conversion, a broadcast scale and an FMA for
// only 32 multiply-adds. Here a vector's 16 lanes are 16 ROWS: the weights of a group of 16
// rows are repacked (once per matmul, into a small buffer that stays in L1/L2) so that
// vector j of block b holds bytes 4j..4j+3 of that block of each of the 16 rows, and a token's
// 4 bytes 4j..4j+3 are broadcast to every lane (vpdpbusd's embedded broadcast). Eight
// vpdpbusd give each lane its row's exact integer block sum, and one conversion and one FMA
// (scale: the 16 rows' dw times the token's dx) serve 16 rows: 512 multiply-adds per 11
// instructions instead of 32 per 4. A tile is 16 rows x 8 tokens (8 integer and 8 float
// accumulators, the group's 8 weight vectors of the block in registers).
//
// vpdpbusd multiplies unsigned by signed bytes: the packed weights are stored as w + 128 (an
// xor), and each token's integer sum starts from -128 * (the sum of its block's bytes), so a
// lane ends at its exact sum of w * x. Per block the float work is the scalar kernel's
// dw * dx * sum added in (as one FMA), so the results match it to a rounding per block.
#define MCTR_VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")))

constexpr int kQ8GroupRows = 16;
constexpr int kQ8TileTokens = 8;
// A packed block of a group: 16 float scales, then 8 vectors of 16 x 4 bytes.
constexpr size_t kQ8PackedBlock = kQ8GroupRows * sizeof(float) + 8 * 64;

#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Packs the 16 rows wr[0..16) of nb blocks into pk (rows at or past n_rows get scale 0; their
// pointers must still be readable). Per block the 16 x 8 dwords are transposed in registers:
// vector i holds rows i and i + 8, an 8 x 8 transpose in each 256-bit half (unpacks of 32 and
// 64 bits, then a two-source permute of the 128-bit pieces) gives vector j = dword j of the
// 16 rows.
MCTR_VNNI512 static void pack_q8_group(const BlockQ8* const* wr, int n_rows, size_t nb, uint8_t* pk) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13),
                hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (size_t b = 0; b < nb; b++) {
    uint8_t* blk = pk + b * kQ8PackedBlock;
    alignas(32) uint16_t d[kQ8GroupRows];
    for (int i = 0; i < kQ8GroupRows; i++) d[i] = i < n_rows ? wr[i][b].d : 0;
    _mm512_storeu_ps(blk, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d))));
    __m512i r[8], t[8], u[8];
    for (int i = 0; i < 8; i++)
      r[i] = _mm512_xor_si512(
          _mm512_inserti64x4(_mm512_castsi256_si512(q8_load(wr[i][b])), q8_load(wr[i + 8][b]), 1), flip);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
      u[h] = _mm512_unpacklo_epi64(t[h], t[h + 2]);
      u[h + 1] = _mm512_unpackhi_epi64(t[h], t[h + 2]);
      u[h + 2] = _mm512_unpacklo_epi64(t[h + 1], t[h + 3]);
      u[h + 3] = _mm512_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    for (int e = 0; e < 4;
         e++) {  // u[e] holds dwords e and e + 4 of rows 0-3 (and 8-11), u[e + 4] of rows 4-7
      _mm512_storeu_si512(blk + 64 + e * 64, _mm512_permutex2var_epi64(u[e], lo, u[e + 4]));
      _mm512_storeu_si512(blk + 64 + (e + 4) * 64, _mm512_permutex2var_epi64(u[e], hi, u[e + 4]));
    }
  }
}

// Per token and block: the activation scale and -128 * the sum of the block's bytes.
struct Q8TokenBlock {
  float dx;
  int32_t start;
};

// One 16-row x C-token tile over the packed group pk; with pf, the next group's rows (from
// memory) are prefetched along the way, a cache line per row per block.
template <int C>
MCTR_VNNI512 static void tile_q8_rows16(const uint8_t* pk, const BlockQ8* const* xt,
                                        const Q8TokenBlock* const* xs, size_t nb, float* out,
                                        size_t out_stride, __mmask16 rows, const BlockQ8* const* pf) {
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
  for (size_t b = 0; b < nb; b++) {
    if (pf)
      for (int i = 0; i < kQ8GroupRows; i++)
        _mm_prefetch(reinterpret_cast<const char*>(pf[i] + b), _MM_HINT_T0);
    const uint8_t* blk = pk + b * kQ8PackedBlock;
    const __m512 dw = _mm512_loadu_ps(reinterpret_cast<const float*>(blk));
    __m512i w[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) w[j] = _mm512_loadu_si512(blk + 64 + j * 64);
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) {
      const int8_t* q = xt[c][b].qs;
      __m512i s = _mm512_set1_epi32(xs[c][b].start);
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        int32_t x4;
        std::memcpy(&x4, q + 4 * j, 4);
        s = _mm512_dpbusd_epi32(s, w[j], _mm512_set1_epi32(x4));
      }
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(xs[c][b].dx)), acc[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; c++) _mm512_mask_storeu_ps(out + c * out_stride, rows, acc[c]);
}
#pragma GCC diagnostic pop

template <int C>
MCTR_VNNI512 static void tile_q8_rows16_at(const uint8_t* pk, const BlockQ8* xq, size_t xq_stride,
                                           const Q8TokenBlock* xs, int t, size_t nb, float* out,
                                           size_t out_stride, __mmask16 rows, const BlockQ8* const* pf) {
  const BlockQ8* xt[C];
  const Q8TokenBlock* st[C];
  for (int c = 0; c < C; c++) {
    xt[c] = xq + (t + c) * xq_stride;
    st[c] = xs + (t + c) * nb;
  }
  tile_q8_rows16<C>(pk, xt, st, nb, out + t * out_stride, out_stride, rows, pf);
}

// Each token's block scales and -128 * sums (the sums by vpdpbusd against bytes of 1).
MCTR_VNNI512 static void q8_token_blocks(const BlockQ8* xq, size_t xq_stride, int n_tok, size_t nb,
                                         Q8TokenBlock* out) {
  const __m256i ones = _mm256_set1_epi8(1);
  for (int t = 0; t < n_tok; t++)
    for (size_t b = 0; b < nb; b++) {
      const BlockQ8& x = xq[t * xq_stride + b];
      const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, q8_load(x));
      __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
      h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 1));
      out[t * nb + b] = {_cvtsh_ss(x.d), -128 * _mm_cvtsi128_si32(h)};
    }
}

MCTR_VNNI512 static void matmul_batch_q8_0_vnni512(const void* w, size_t row_bytes, int n_rows,
                                                   const BlockQ8* xq, size_t xq_stride, int n_tok, size_t n,
                                                   float* out, size_t out_stride) {
  const size_t nb = n / kQK8;
  // A few tokens do not pay for the packing: the 4-row tiles read the rows as they are.
  if (n_tok < 4)
    return matmul_batch_q8_0_blocked<Q8TilesVnni>(w, row_bytes, n_rows, xq, xq_stride, n_tok, n, out,
                                                  out_stride);
  thread_local std::vector<uint8_t> packed;
  thread_local std::vector<Q8TokenBlock> scales;
  packed.resize(nb * kQ8PackedBlock);
  scales.resize(static_cast<size_t>(n_tok) * nb);
  q8_token_blocks(xq, xq_stride, n_tok, nb, scales.data());
  const auto* base = static_cast<const uint8_t*>(w);
  auto group = [&](int r, const BlockQ8** wr) { row_group(base, row_bytes, n_rows, r, kQ8GroupRows, wr); };
  const BlockQ8* wr[kQ8GroupRows];
  const BlockQ8* next[kQ8GroupRows];
  group(0, wr);
  for (int r = 0; r < n_rows; r += kQ8GroupRows) {
    const int rows = std::min(kQ8GroupRows, n_rows - r);
    pack_q8_group(wr, rows, nb, packed.data());
    const bool more = r + kQ8GroupRows < n_rows;
    if (more) group(r + kQ8GroupRows, next);
    const auto mask = static_cast<__mmask16>((1u << rows) - 1);
    const uint8_t* pk = packed.data();
    int t = 0;
    for (; t + kQ8TileTokens <= n_tok; t += kQ8TileTokens)
      tile_q8_rows16_at<kQ8TileTokens>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask,
                                       t == 0 && more ? next : nullptr);
    const BlockQ8* const* pf = t == 0 && more ? next : nullptr;
    switch (n_tok - t) {
      case 7:
        tile_q8_rows16_at<7>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      case 6:
        tile_q8_rows16_at<6>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      case 5:
        tile_q8_rows16_at<5>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      case 4:
        tile_q8_rows16_at<4>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      case 3:
        tile_q8_rows16_at<3>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      case 2:
        tile_q8_rows16_at<2>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      case 1:
        tile_q8_rows16_at<1>(pk, xq, xq_stride, scales.data(), t, nb, out + r, out_stride, mask, pf);
        break;
      default:
        break;
    }
    if (more) std::copy(next, next + kQ8GroupRows, wr);
  }
}

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
    out[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);  // fp32_to_fp16's bits (d is finite)
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

MCTR_AVX2 static void fp32_to_fp16_row_f16c(const float* x, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; i++) out[i] = fp32_to_fp16(x[i]);
}

// ---- AVX2 elementwise kernels (the AVX-512 ones' twins, for CPUs without AVX-512) ----

// exp512's polynomial; 2^n is made as two powers of two in the exponent field (n reaches -150
// and 128, outside one float's normal exponents), so the products give the denormals and the
// inf that vscalefps gives: the same floats as exp512.
MCTR_AVX2 static inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i ni = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(ni, 1), bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 s2 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// The lanes below `left` (all of them from 8 on), for maskload/maskstore.
MCTR_AVX2 static inline __m256i tail_mask8(size_t left) {
  const int k = static_cast<int>(std::min<size_t>(left, 8));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// How the elementwise kernels read and write 8 floats: Full8 for whole vectors, Tail8 for the
// n % 8 at the end. A masked store (vmaskmovps) is microcoded on AMD CPUs, ~6x the time of a
// plain one on Zen 2, and the kernels spent most of their time in them when every vector was
// masked. keep(v, fill) gives v in the valid lanes and fill in the others.
struct Full8 {
  MCTR_AVX2 __m256 load(const float* p) const { return _mm256_loadu_ps(p); }
  MCTR_AVX2 void store(float* p, __m256 v) const { _mm256_storeu_ps(p, v); }
  MCTR_AVX2 __m256 keep(__m256 v, __m256) const { return v; }
};
struct Tail8 {
  __m256i m;
  MCTR_AVX2 __m256 load(const float* p) const { return _mm256_maskload_ps(p, m); }
  MCTR_AVX2 void store(float* p, __m256 v) const { _mm256_maskstore_ps(p, m, v); }
  MCTR_AVX2 __m256 keep(__m256 v, __m256 fill) const {
    return _mm256_blendv_ps(fill, v, _mm256_castsi256_ps(m));
  }
};

template <typename L>
MCTR_AVX2 static inline void swiglu8(float* g, const float* u, L lanes) {
  const __m256 v = lanes.load(g);
  const __m256 silu =
      _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), exp256(_mm256_sub_ps(_mm256_setzero_ps(), v))));
  lanes.store(g, _mm256_mul_ps(silu, lanes.load(u)));
}

MCTR_AVX2 static void swiglu_avx2(float* g, const float* u, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) swiglu8(g + i, u + i, Full8{});
  if (i < n) swiglu8(g + i, u + i, Tail8{tail_mask8(n - i)});
}

template <typename L>
MCTR_AVX2 static inline __m256 scale_max8(float* p, __m256 scale, __m256 maxv, L lanes) {
  const __m256 v = _mm256_mul_ps(lanes.load(p), scale);
  lanes.store(p, v);
  return _mm256_max_ps(maxv, lanes.keep(v, _mm256_set1_ps(-INFINITY)));
}
template <typename L>
MCTR_AVX2 static inline __m256 exp_sum8(float* p, __m256 mx, __m256 sum, L lanes) {
  const __m256 e = lanes.keep(exp256(_mm256_sub_ps(lanes.load(p), mx)), _mm256_setzero_ps());
  lanes.store(p, e);
  return _mm256_add_ps(sum, e);
}
template <typename L>
MCTR_AVX2 static inline void mul8(float* p, __m256 f, L lanes) {
  lanes.store(p, _mm256_mul_ps(lanes.load(p), f));
}

MCTR_AVX2 static void softmax_scaled_avx2(float* row, int n, float scale) {
  const size_t len = static_cast<size_t>(n);
  const __m256 sc = _mm256_set1_ps(scale);
  __m256 maxv = _mm256_set1_ps(-INFINITY);
  const size_t whole = len / 8 * 8;  // the last partial vector is masked
  const Tail8 tail{tail_mask8(len - whole)};
  for (size_t i = 0; i < whole; i += 8) maxv = scale_max8(row + i, sc, maxv, Full8{});
  if (whole < len) maxv = scale_max8(row + whole, sc, maxv, tail);
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(maxv), _mm256_extractf128_ps(maxv, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const __m256 mx = _mm256_set1_ps(_mm_cvtss_f32(m4));
  __m256 sum = _mm256_setzero_ps();
  for (size_t i = 0; i < whole; i += 8) sum = exp_sum8(row + i, mx, sum, Full8{});
  if (whole < len) sum = exp_sum8(row + whole, mx, sum, tail);
  const __m256 inv = _mm256_set1_ps(1.0f / hsum256(sum));
  for (size_t i = 0; i < whole; i += 8) mul8(row + i, inv, Full8{});
  if (whole < len) mul8(row + whole, inv, tail);
}

template <typename L>
MCTR_AVX2 static inline void scale_by8(float* out, const float* x, const float* w, __m256 scale, L lanes) {
  lanes.store(out, _mm256_mul_ps(_mm256_mul_ps(lanes.load(x), scale), lanes.load(w)));
}

MCTR_AVX2 static void rmsnorm_avx2(float* out, const float* x, const float* w, int n, float eps) {
  const size_t len = static_cast<size_t>(n);
  __m256d ss = _mm256_setzero_pd();
  for (size_t i = 0; i < len; i += 4) {
    const __m128i m = _mm256_castsi256_si128(tail_mask8(std::min<size_t>(len - i, 4)));
    const __m256d v = _mm256_cvtps_pd(_mm_maskload_ps(x + i, m));
    ss = _mm256_fmadd_pd(v, v, ss);
  }
  __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(ss), _mm256_extractf128_pd(ss, 1));
  s2 = _mm_add_sd(s2, _mm_unpackhi_pd(s2, s2));
  const __m256 scale = _mm256_set1_ps(static_cast<float>(1.0 / std::sqrt(_mm_cvtsd_f64(s2) / n + eps)));
  size_t i = 0;
  for (; i + 8 <= len; i += 8) scale_by8(out + i, x + i, w + i, scale, Full8{});
  if (i < len) scale_by8(out + i, x + i, w + i, scale, Tail8{tail_mask8(len - i)});
}

// ---- AVX-512 elementwise kernels ----
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Cephes' expf: x = n ln2 + r (ln2 in two parts, so n * the first is exact), e^r by a degree-7
// polynomial, times 2^n with vscalefps (which gives inf and 0 past the float range).
MCTR_AVX512 static inline __m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

static inline __mmask16 tail_mask(size_t left) {
  return static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
}

MCTR_AVX512 static void swiglu_avx512(float* g, const float* u, size_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, g + i);
    const __m512 silu = _mm512_div_ps(v, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, u + i)));
  }
}

MCTR_AVX512 static void softmax_scaled_avx512(float* row, int n, float scale) {
  const size_t len = static_cast<size_t>(n);
  __m512 maxv = _mm512_set1_ps(-INFINITY);
  for (size_t i = 0; i < len; i += 16) {
    const __mmask16 m = tail_mask(len - i);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), _mm512_set1_ps(scale));
    _mm512_mask_storeu_ps(row + i, m, v);
    maxv = _mm512_mask_max_ps(maxv, m, maxv, v);
  }
  const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(maxv));
  __m512 sum = _mm512_setzero_ps();
  for (size_t i = 0; i < len; i += 16) {
    const __mmask16 m = tail_mask(len - i);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + i), mx));
    _mm512_mask_storeu_ps(row + i, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (size_t i = 0; i < len; i += 16) {
    const __mmask16 m = tail_mask(len - i);
    _mm512_mask_storeu_ps(row + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), inv));
  }
}

MCTR_AVX512 static void rmsnorm_avx512(float* out, const float* x, const float* w, int n, float eps) {
  const size_t len = static_cast<size_t>(n);
  __m512d ss = _mm512_setzero_pd();
  for (size_t i = 0; i < len; i += 8) {
    const __mmask8 m = static_cast<__mmask8>(len - i >= 8 ? 0xff : (1u << (len - i)) - 1);
    const __m512d v = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i));
    ss = _mm512_fmadd_pd(v, v, ss);
  }
  const __m512 scale =
      _mm512_set1_ps(static_cast<float>(1.0 / std::sqrt(_mm512_reduce_add_pd(ss) / n + eps)));
  for (size_t i = 0; i < len; i += 16) {
    const __mmask16 m = tail_mask(len - i);
    _mm512_mask_storeu_ps(out + i, m,
                          _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale),
                                        _mm512_maskz_loadu_ps(m, w + i)));
  }
}
#pragma GCC diagnostic pop

// out[0..8M) = sum_t att[t] v_t[0..8M): M columns of 8 at once, one accumulator each,
// every value row read once. (One column of 8 at a time over all keys was one chain of FMAs,
// each waiting for the last.) Each accumulator adds the keys in order: the same floats.
template <typename V, int M>
MCTR_AVX2 static inline void weigh_values_avx2(const float* att, const V* v, size_t stride, int n_keys,
                                               float* out) {
  __m256 acc[M];
  for (int j = 0; j < M; j++) acc[j] = _mm256_setzero_ps();
  for (int t = 0; t < n_keys; t++) {
    const __m256 a = _mm256_set1_ps(att[t]);
    const V* vt = v + t * stride;
    for (int j = 0; j < M; j++) acc[j] = _mm256_fmadd_ps(a, load8(vt + 8 * j), acc[j]);
  }
  for (int j = 0; j < M; j++) _mm256_storeu_ps(out + 8 * j, acc[j]);
}

// weigh_values_avx2<V, 1..8>, indexed by M - 1: the number of columns is a template argument so
// that the accumulators stay in registers.
template <typename V, size_t... I>
constexpr auto weigh_values_by_width(std::index_sequence<I...>) {
  return std::array{&weigh_values_avx2<V, static_cast<int>(I) + 1>...};
}

// The scores q·k_t of eight keys k, k + stride, ..., k + 7 * stride (hd % 8 == 0): one
// accumulator per key, so eight chains of FMAs run side by side, and each vector of q is loaded
// once for the eight. (One dot_avx2 call per key spent more on its call and horizontal sum than
// on the 64 products of a head.)
template <typename K>
MCTR_AVX2 static inline __m256 scores8_avx2(const float* q, const K* k, size_t stride, int hd) {
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (int i = 0; i < hd; i += 8) {
    const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(load8(k + j * stride + i), qv, acc[j]);
  }
  return _mm256_set_m128(hsum4x256(acc[4], acc[5], acc[6], acc[7]),
                         hsum4x256(acc[0], acc[1], acc[2], acc[3]));
}

// One query's attention: the scores eight keys at a time, then softmax_scaled (vectorized,
// AVX-512 where the CPU has it) and the weighted sum of the values.
template <typename K, typename V>
MCTR_AVX2 static void attend_avx2_t(const float* q, const K* k, const V* v, size_t stride, int n_keys, int hd,
                                    float scale, float* att, float* out) {
  if (hd % 8) return attend_scalar_t(q, k, v, stride, n_keys, hd, scale, att, out);
  int t = 0;
  for (; t + 8 <= n_keys; t += 8) _mm256_storeu_ps(att + t, scores8_avx2(q, k + t * stride, stride, hd));
  for (; t < n_keys; t++) att[t] = dot_avx2(k + t * stride, q, hd);
  softmax_scaled(att, n_keys, scale);
  static constexpr auto weigh_values = weigh_values_by_width<V>(std::make_index_sequence<8>{});
  for (int i = 0; i < hd; i += 64)
    weigh_values[std::min(8, (hd - i) / 8) - 1](att, v + i, stride, n_keys, out + i);
}

static void attend_avx2(const float* q, KvRows k, KvRows v, size_t stride, int n_keys, int hd, float scale,
                        float* att, float* out) {
  with_kv_types(k, v,
                [&](auto* kp, auto* vp) { attend_avx2_t(q, kp, vp, stride, n_keys, hd, scale, att, out); });
}

namespace {
// The scalar kernels prefetch nothing: how the rows are fetched does not apply to them.
template <typename X, void (*Rows)(const void*, size_t, int, const X*, size_t, float*)>
void rows_prefetching_nothing(const void* w, size_t row_bytes, int n_rows, const X* x, size_t n, float* out,
                              RowFetch) {
  Rows(w, row_bytes, n_rows, x, n, out);
}

struct Dispatch {
  bool simd;
  float (*f32)(const float*, const float*, size_t);
  float (*f16)(const uint16_t*, const float*, size_t);
  float (*q8)(const BlockQ8*, const BlockQ8*, size_t);
  void (*rows_f32)(const void*, size_t, int, const float*, size_t, float*, RowFetch);
  void (*rows_f16)(const void*, size_t, int, const float*, size_t, float*, RowFetch);
  void (*rows_q8)(const void*, size_t, int, const BlockQ8*, size_t, float*, RowFetch);
  void (*rows2_f32)(const void*, size_t, int, const float*, const float*, size_t, float*, float*);
  void (*rows2_f16)(const void*, size_t, int, const float*, const float*, size_t, float*, float*);
  void (*batch_f32)(const void*, size_t, int, const float*, size_t, int, size_t, float*, size_t);
  void (*batch_f16)(const void*, size_t, int, const float*, size_t, int, size_t, float*, size_t);
  void (*batch_q8)(const void*, size_t, int, const BlockQ8*, size_t, int, size_t, float*, size_t);
  void (*quantize_q8)(const float*, BlockQ8*, size_t);
  void (*attend)(const float*, KvRows, KvRows, size_t, int, int, float, float*, float*);
  void (*to_f16)(const float*, uint16_t*, size_t);
  void (*rmsnorm)(float*, const float*, const float*, int, float);
  void (*swiglu)(float*, const float*, size_t);
  void (*softmax)(float*, int, float);
  const char* batch_name;
};

// F16C from cpuid itself: clang before 15 rejects "f16c" in __builtin_cpu_supports
// (the fuzz build, scripts/fuzz, compiles this file with Debian's clang 14).
bool cpu_has_f16c() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

// AMD's family 19h (Zen 3, Zen 4) and later: see dot_rows_plain_avx2 (measured on a Zen 4;
// Zen 2, family 17h, and other vendors keep the software prefetch measured there).
RowFetch pick_streamed_row_fetch() {
  const char* forced = std::getenv("MINICTR_INFER_STREAM_PREFETCH");
  if (forced && *forced)
    return std::strcmp(forced, "0") == 0 ? RowFetch::kStreamedNoPrefetch : RowFetch::kStreamed;
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return RowFetch::kStreamed;
  const bool amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;  // "AuthenticAMD"
  if (!amd || !__get_cpuid(1, &a, &b, &c, &d)) return RowFetch::kStreamed;
  const unsigned family = ((a >> 8) & 0xf) + (((a >> 8) & 0xf) == 0xf ? (a >> 20) & 0xff : 0);
  return family >= 0x19 ? RowFetch::kStreamedNoPrefetch : RowFetch::kStreamed;
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
    void (*rows_q8_avx2)(const void*, size_t, int, const BlockQ8*, size_t, float*, RowFetch) =
        dot_rows_q8_0_avx2;
    return {true,
            dot_f32_avx2,
            dot_f16_avx2,
            dot_q8_0_avx2,
            dot_rows_f32_avx2,
            dot_rows_f16_avx2,
            vnni ? dot_rows_q8_0_vnni : rows_q8_avx2,
            dot_rows2_f32_avx2,
            dot_rows2_f16_avx2,
            avx512 ? matmul_batch_f32_avx512 : matmul_batch_f32_avx2,
            avx512 ? matmul_batch_f16_avx512 : matmul_batch_f16_avx2,
            vnni && avx512 ? matmul_batch_q8_0_vnni512
            : vnni         ? matmul_batch_q8_0_blocked<Q8TilesVnni>
                           : matmul_batch_q8_0_avx2,
            quantize_row_q8_0_avx2,
            attend_avx2,
            fp32_to_fp16_row_f16c,
            avx512 ? rmsnorm_avx512 : rmsnorm_avx2,
            avx512 ? swiglu_avx512 : swiglu_avx2,
            avx512 ? softmax_scaled_avx512 : softmax_scaled_avx2,
            avx512 ? "avx512" : "avx2"};
  }
  return {false,
          dot_f32_scalar,
          dot_f16_scalar,
          dot_q8_0_scalar,
          rows_prefetching_nothing<float, dot_rows_f32_scalar>,
          rows_prefetching_nothing<float, dot_rows_f16_scalar>,
          rows_prefetching_nothing<BlockQ8, dot_rows_q8_0_scalar>,
          dot_rows2_f32_scalar,
          dot_rows2_f16_scalar,
          matmul_batch_f32_scalar,
          matmul_batch_f16_scalar,
          matmul_batch_q8_0_scalar,
          quantize_row_q8_0_scalar,
          static_cast<void (*)(const float*, KvRows, KvRows, size_t, int, int, float, float*, float*)>(
              attend_scalar),
          fp32_to_fp16_row_scalar,
          rmsnorm_scalar,
          swiglu_scalar,
          softmax_scaled_scalar,
          "scalar"};
}

const Dispatch& dispatch() {
  static const Dispatch d = pick();
  return d;
}
}  // namespace

RowFetch streamed_row_fetch() {
  static const RowFetch fetch = pick_streamed_row_fetch();
  return fetch;
}

bool simd_enabled() { return dispatch().simd; }
const char* batch_kernel_name() { return dispatch().batch_name; }

std::vector<BatchKernels> batch_kernel_variants() {
  std::vector<BatchKernels> v = {
      {"scalar", matmul_batch_f32_scalar, matmul_batch_f16_scalar, matmul_batch_q8_0_scalar}};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
    v.push_back({"avx2", matmul_batch_f32_avx2, matmul_batch_f16_avx2, matmul_batch_q8_0_avx2});
    // The 4 x 2 tiles, which the 8-row kernel keeps for batches of 1-3 tokens.
    v.push_back(
        {"avx2-4x2", matmul_batch_f32_avx2, matmul_batch_f16_avx2, matmul_batch_q8_0_blocked<Q8TilesAvx2>});
    const bool vnni = __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) {
      v.push_back({"avx512", matmul_batch_f32_avx512, matmul_batch_f16_avx512,
                   vnni ? matmul_batch_q8_0_vnni512 : matmul_batch_q8_0_avx2});
      if (vnni)  // the 256-bit VNNI tiles, which the 512-bit kernel keeps for batches of 1-3 tokens
        v.push_back({"vnni256", matmul_batch_f32_avx512, matmul_batch_f16_avx512,
                     matmul_batch_q8_0_blocked<Q8TilesVnni>});
    }
  }
  return v;
}
std::vector<Q8RowKernels> q8_0_row_kernel_variants() {
  std::vector<Q8RowKernels> v;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
    v.push_back({"avx2", dot_rows_q8_0_avx2});
    if (__builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
      v.push_back({"vnni", dot_rows_q8_0_vnni});
  }
  return v;
}
std::vector<ElementwiseKernels> elementwise_kernel_variants() {
  std::vector<ElementwiseKernels> v = {{"scalar", rmsnorm_scalar, swiglu_scalar, softmax_scaled_scalar}};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) {
    v.push_back({"avx2", rmsnorm_avx2, swiglu_avx2, softmax_scaled_avx2});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
      v.push_back({"avx512", rmsnorm_avx512, swiglu_avx512, softmax_scaled_avx512});
  }
  return v;
}
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
  float* p = scratch;  // [n_q][n_keys] scores, then weights
  // [hd][n_keys] values, transposed, in their own type (the batch kernels read F16 rows as they are)
  void* vt = scratch + static_cast<size_t>(n_q) * n_keys;
  if (v.type == GgmlType::F16) {
    const auto* v16 = static_cast<const uint16_t*>(v.data);
    auto* t16 = static_cast<uint16_t*>(vt);
    for (int j = 0; j < n_keys; j++)
      for (int i = 0; i < hd; i++) t16[static_cast<size_t>(i) * n_keys + j] = v16[j * kv_stride + i];
  } else {
    const auto* v32 = static_cast<const float*>(v.data);
    auto* t32 = static_cast<float*>(vt);
    for (int j = 0; j < n_keys; j++)
      for (int i = 0; i < hd; i++) t32[static_cast<size_t>(i) * n_keys + j] = v32[j * kv_stride + i];
  }
  const size_t v_elem = v.type == GgmlType::F16 ? sizeof(uint16_t) : sizeof(float);
  // Causal: the queries of a chunk see keys up to pos0 + the chunk's end, so each chunk's scores
  // and weighted sums stop there (a 128-token prompt does 5/8 of the full square's work).
  constexpr int kChunk = 32;
  for (int t0 = 0; t0 < n_q; t0 += kChunk) {
    const int t1 = std::min(n_q, t0 + kChunk), n_k = pos0 + t1;
    float* pc = p + static_cast<size_t>(t0) * n_keys;
    const float* qc = q + static_cast<size_t>(t0) * q_stride;
    if (k.type == GgmlType::F16)
      matmul_batch_f16(k.data, kv_stride * sizeof(uint16_t), n_k, qc, q_stride, t1 - t0, hd, pc, n_keys);
    else
      matmul_batch_f32(k.data, kv_stride * sizeof(float), n_k, qc, q_stride, t1 - t0, hd, pc, n_keys);
    for (int t = t0; t < t1; t++) {
      float* row = p + static_cast<size_t>(t) * n_keys;
      const int seen = pos0 + t + 1;  // later keys get weight 0
      softmax_scaled(row, seen, scale);
      std::fill(row + seen, row + n_k, 0.0f);
    }
    float* oc = out + static_cast<size_t>(t0) * out_stride;
    if (v.type == GgmlType::F16)
      matmul_batch_f16(vt, static_cast<size_t>(n_keys) * v_elem, hd, pc, n_keys, t1 - t0, n_k, oc,
                       out_stride);
    else
      matmul_batch_f32(vt, static_cast<size_t>(n_keys) * v_elem, hd, pc, n_keys, t1 - t0, n_k, oc,
                       out_stride);
  }
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
void fp32_to_fp16_row(const float* x, uint16_t* out, size_t n) { dispatch().to_f16(x, out, n); }
void rmsnorm(float* out, const float* x, const float* w, int n, float eps) {
  dispatch().rmsnorm(out, x, w, n, eps);
}
void swiglu(float* g, const float* u, size_t n) { dispatch().swiglu(g, u, n); }
void softmax_scaled(float* row, int n, float scale) { dispatch().softmax(row, n, scale); }
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
void dot_rows_f32(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out,
                  RowFetch fetch) {
  dispatch().rows_f32(w, row_bytes, n_rows, x, n, out, fetch);
}
void dot_rows_f16(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out,
                  RowFetch fetch) {
  dispatch().rows_f16(w, row_bytes, n_rows, x, n, out, fetch);
}
void dot_rows_q8_0(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t n, float* out,
                   RowFetch fetch) {
  dispatch().rows_q8(w, row_bytes, n_rows, xq, n, out, fetch);
}

}  // namespace mctr::infer
