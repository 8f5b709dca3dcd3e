#include "model/kernels.h"

#include <immintrin.h>

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

void quantize_row_q8_0(const float* x, BlockQ8* out, size_t n) {
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

MCTR_AVX2 static float dot_f32_avx2(const float* w, const float* x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
  float s = hsum256(_mm256_add_ps(a0, a1));
  for (; i < n; i++) s += w[i] * x[i];
  return s;
}

MCTR_AVX2 static float dot_f16_avx2(const uint16_t* w, const float* x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
    __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8)));
    a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
  }
  float s = hsum256(_mm256_add_ps(a0, a1));
  for (; i < n; i++) s += fp16_to_fp32(w[i]) * x[i];
  return s;
}

MCTR_AVX2 static float dot_q8_0_avx2(const BlockQ8* w, const BlockQ8* xq, size_t n) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (size_t b = 0; b < n / kQK8; b++) {
    __m256 d = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(xq[b].d));
    __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b].qs));
    // maddubs multiplies unsigned by signed bytes: move w's sign onto x, use |w|.
    __m256i aw = _mm256_sign_epi8(qw, qw);
    __m256i sx = _mm256_sign_epi8(qx, qw);
    __m256i pairs = _mm256_maddubs_epi16(aw, sx);   // 16 x int16
    __m256i sums = _mm256_madd_epi16(pairs, ones);  // 8 x int32
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
  }
  return hsum256(acc);
}

namespace {
struct Dispatch {
  bool simd;
  float (*f32)(const float*, const float*, size_t);
  float (*f16)(const uint16_t*, const float*, size_t);
  float (*q8)(const BlockQ8*, const BlockQ8*, size_t);
};

Dispatch pick() {
  const char* off = std::getenv("MINICTR_INFER_NO_SIMD");
  bool no_simd = off && *off && std::strcmp(off, "0") != 0;
  __builtin_cpu_init();
  if (!no_simd && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return {true, dot_f32_avx2, dot_f16_avx2, dot_q8_0_avx2};
  return {false, dot_f32_scalar, dot_f16_scalar, dot_q8_0_scalar};
}

const Dispatch& dispatch() {
  static const Dispatch d = pick();
  return d;
}
}  // namespace

bool simd_enabled() { return dispatch().simd; }
float dot_f32(const float* w, const float* x, size_t n) { return dispatch().f32(w, x, n); }
float dot_f16(const uint16_t* w, const float* x, size_t n) { return dispatch().f16(w, x, n); }
float dot_q8_0(const BlockQ8* w, const BlockQ8* xq, size_t n) { return dispatch().q8(w, xq, n); }

}  // namespace mctr::infer
