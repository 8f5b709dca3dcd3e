// Number kernels: half floats, Q8_0 blocks, and the dot products every matmul is made of.
//
// Each dot product has a portable scalar version and an AVX2/FMA/F16C version; which one runs
// is picked once at startup from the CPU's cpuid bits (see simd_enabled()). Set the
// environment variable MINICTR_INFER_NO_SIMD=1 to force the scalar path.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/gguf.h"

namespace mctr::infer {

// Q8_0: 32 weights share one fp16 scale d; weight = d * q.
constexpr int kQK8 = 32;
struct BlockQ8 {
  uint16_t d;  // fp16 bits
  int8_t qs[kQK8];
};
static_assert(sizeof(BlockQ8) == 34, "Q8_0 blocks are 34 bytes, packed");

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);  // round to nearest even

// Quantize n floats (n % 32 == 0) into n/32 blocks, like ggml's quantize_row_q8_0.
void quantize_row_q8_0(const float* x, BlockQ8* out, size_t n);
// Expand one row of n elements of any supported type to floats.
void dequantize_row(GgmlType t, const void* row, float* out, size_t n);

bool simd_enabled();  // true when the AVX2 kernels are in use

// dot(w_row, x) for n elements. For Q8_0 the activation x must be quantized too (xq).
float dot_f32(const float* w, const float* x, size_t n);
float dot_f16(const uint16_t* w, const float* x, size_t n);
float dot_q8_0(const BlockQ8* w, const BlockQ8* xq, size_t n);

// The scalar versions, always available (tests compare the two paths).
float dot_f32_scalar(const float* w, const float* x, size_t n);
float dot_f16_scalar(const uint16_t* w, const float* x, size_t n);
float dot_q8_0_scalar(const BlockQ8* w, const BlockQ8* xq, size_t n);

}  // namespace mctr::infer
