// Number kernels: half floats, Q8_0 blocks, and the dot products every matmul is made of.
//
// Each dot product has a portable scalar version and an AVX2/FMA/F16C version; which one runs
// is picked once at startup from the CPU's cpuid bits (see simd_enabled()). Set the
// environment variable MINICTR_INFER_NO_SIMD=1 to force the scalar path, or
// MINICTR_INFER_NO_AVX512=1 to keep the AVX2 kernels where AVX512-VNNI ones exist.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

// Quantize n floats (n % 32 == 0) into n/32 blocks, like ggml's quantize_row_q8_0
// (rounding half away from zero, as roundf; the SIMD version gives the same bytes).
void quantize_row_q8_0(const float* x, BlockQ8* out, size_t n);
void quantize_row_q8_0_scalar(const float* x, BlockQ8* out, size_t n);
// Expand one row of n elements of any supported type to floats.
void dequantize_row(GgmlType t, const void* row, float* out, size_t n);

bool simd_enabled();  // true when the AVX2 kernels are in use

// dot(w_row, x) for n elements. For Q8_0 the activation x must be quantized too (xq).
float dot_f32(const float* w, const float* x, size_t n);
float dot_f16(const uint16_t* w, const float* x, size_t n);
float dot_q8_0(const BlockQ8* w, const BlockQ8* xq, size_t n);

// How one token's matmul prefetches the rows ahead of it: weights that fit in the last-level
// cache stay there from one token to the next (kCached); larger ones stream from memory at every
// token and should not evict what the cache holds (kStreamed: a non-temporal software prefetch
// ahead of the loads). Cores whose hardware prefetchers alone keep enough of one stream in
// flight read F16 rows faster without (kStreamedNoPrefetch; F32 and Q8_0 rows read as with
// kStreamed). kernels.cpp says why and where it was measured.
enum class RowFetch { kCached, kStreamed, kStreamedNoPrefetch };

// What a weight stream larger than the last-level cache should use on this CPU: kStreamed, or
// kStreamedNoPrefetch on AMD family 19h and later (Zen 3, Zen 4, ...). MINICTR_INFER_STREAM_PREFETCH=1
// or 0 forces the software prefetch on or off (to measure both on another CPU).
RowFetch streamed_row_fetch();

// One token's matmul (generation): out[r] = dot(row r of w, x) for r < n_rows, the rows
// row_bytes apart, each the same float dot_f32/dot_f16/dot_q8_0 gives for that row. The SIMD
// versions go one row after the other and prefetch the rows ahead as `fetch` says.
void dot_rows_f32(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out,
                  RowFetch fetch = RowFetch::kCached);
void dot_rows_f16(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out,
                  RowFetch fetch = RowFetch::kCached);
void dot_rows_q8_0(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t n, float* out,
                   RowFetch fetch = RowFetch::kCached);
// Every SIMD version of dot_rows_q8_0 this CPU can run (AVX2's maddubs; AVX512-VNNI's vpdpbusd
// where present), whatever MINICTR_INFER_NO_AVX512 says, so the tests check each one's floats.
struct Q8RowKernels {
  const char* name;
  void (*rows)(const void*, size_t, int, const BlockQ8*, size_t, float*, RowFetch);
};
std::vector<Q8RowKernels> q8_0_row_kernel_variants();
// The same for two tokens at once (a prompt batch): each weight vector loaded serves both.
// out0[r] = dot(row r, x0), out1[r] = dot(row r, x1).
void dot_rows2_f32(const void* w, size_t row_bytes, int n_rows, const float* x0, const float* x1, size_t n,
                   float* out0, float* out1);
void dot_rows2_f16(const void* w, size_t row_bytes, int n_rows, const float* x0, const float* x1, size_t n,
                   float* out0, float* out1);

// A prompt batch's matmul, register- and cache-blocked: out[t * out_stride + r] = dot(row r of
// w, token t's x) for r < n_rows, t < n_tok; token t's x is at x + t * x_stride (floats) or
// xq + t * xq_stride (blocks). The SIMD versions compute tiles of 4 rows x 3 tokens (AVX-512:
// 4 x 6; Q8_0 over weights repacked so a vector's lanes are rows: 8 rows x 4 tokens with AVX2,
// 16 rows x 8 tokens with AVX512-VNNI; 4-row tiles for 1-3 tokens), so each weight vector
// loaded (and converted) serves several tokens and each activation vector several rows, going
// over the tokens in blocks that stay in L2. The F32/F16 results for whole groups of 4 rows are the same
// floats as dot_rows2_* gives; Q8_0's match the scalar kernel to a rounding per block.
void matmul_batch_f32(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride, int n_tok,
                      size_t n, float* out, size_t out_stride);
void matmul_batch_f16(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride, int n_tok,
                      size_t n, float* out, size_t out_stride);
void matmul_batch_q8_0(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t xq_stride,
                       int n_tok, size_t n, float* out, size_t out_stride);
void matmul_batch_f32_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride,
                             int n_tok, size_t n, float* out, size_t out_stride);
void matmul_batch_f16_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t x_stride,
                             int n_tok, size_t n, float* out, size_t out_stride);
void matmul_batch_q8_0_scalar(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq,
                              size_t xq_stride, int n_tok, size_t n, float* out, size_t out_stride);

// The elementwise work of a layer, each with its scalar twin. The AVX2 and AVX-512 versions
// compute exp with a polynomial (Cephes' expf: within 2 ulp of std::exp; both give the same
// floats) and rmsnorm's sum of squares in doubles as the scalar one does, in another order.
// out[i] = fp32_to_fp16(x[i]) (F16C where the CPU has it: the same bits for finite x).
void fp32_to_fp16_row(const float* x, uint16_t* out, size_t n);
void fp32_to_fp16_row_scalar(const float* x, uint16_t* out, size_t n);
// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i].
void rmsnorm(float* out, const float* x, const float* w, int n, float eps);
void rmsnorm_scalar(float* out, const float* x, const float* w, int n, float eps);
// SwiGLU: g[i] = silu(g[i]) * u[i], silu(v) = v / (1 + exp(-v)).
void swiglu(float* g, const float* u, size_t n);
void swiglu_scalar(float* g, const float* u, size_t n);
// In place: row[0..n) <- softmax(row * scale).
void softmax_scaled(float* row, int n, float scale);
void softmax_scaled_scalar(float* row, int n, float scale);
// Every version of them this CPU can run (scalar first), whatever MINICTR_INFER_NO_AVX512 says,
// so the tests compare each with the scalar one.
struct ElementwiseKernels {
  const char* name;
  void (*rmsnorm)(float*, const float*, const float*, int, float);
  void (*swiglu)(float*, const float*, size_t);
  void (*softmax)(float*, int, float);
};
std::vector<ElementwiseKernels> elementwise_kernel_variants();

// Rows of keys or values in a KV cache (kv_cache.h): F32 or F16 elements.
struct KvRows {
  GgmlType type;  // F32 or F16
  const void* data;
};

// One attention head for one query: softmax(q·k_t * scale) over the n_keys cached keys,
// then out = sum_t p_t v_t. Key t is at k + t*stride, value t at v + t*stride; hd elements
// each (strides count elements). att is scratch for n_keys scores.
void attend(const float* q, KvRows k, KvRows v, size_t stride, int n_keys, int hd, float scale, float* att,
            float* out);
void attend_scalar(const float* q, KvRows k, KvRows v, size_t stride, int n_keys, int hd, float scale,
                   float* att, float* out);
// The same over F32 rows.
void attend(const float* q, const float* k, const float* v, size_t stride, int n_keys, int hd, float scale,
            float* att, float* out);
void attend_scalar(const float* q, const float* k, const float* v, size_t stride, int n_keys, int hd,
                   float scale, float* att, float* out);

// Causal attention of one head for a batch of n_q queries at positions pos0..pos0+n_q-1 (query
// t at q + t * q_stride) over the keys and values of positions 0..pos0+n_q-1 (key j at
// k + j * kv_stride, value j at v + j * kv_stride): query t sees keys 0..pos0+t. Its output
// goes to out + t * out_stride (hd floats). The scores of all queries come from one
// matmul_batch_f32 (the keys as the rows), and so does the weighted sum of the values (over a
// transposed copy of them), so both run in the tiled kernels instead of one dot per key.
// scratch holds attend_batch_scratch(n_q, n_keys, hd) floats.
// The keys and values may be F32 or F16 (a KV cache of either type; kv_stride counts elements).
size_t attend_batch_scratch(int n_q, int n_keys, int hd);
void attend_batch(const float* q, size_t q_stride, int n_q, int pos0, KvRows k, KvRows v, size_t kv_stride,
                  int hd, float scale, float* scratch, float* out, size_t out_stride);

// Every prompt-batch matmul kernel this CPU can run (scalar first, then AVX2, then the AVX2 4 x 2
// Q8_0 tiles the AVX2 one uses for 1-3 tokens, then AVX-512 where present, then the 256-bit VNNI
// Q8_0 tiles the AVX-512 one uses for 1-3 tokens), whatever MINICTR_INFER_NO_AVX512 says, so the
// tests compare each one with its scalar twin and not only the one dispatch picked.
struct BatchKernels {
  const char* name;
  void (*f32)(const void*, size_t, int, const float*, size_t, int, size_t, float*, size_t);
  void (*f16)(const void*, size_t, int, const float*, size_t, int, size_t, float*, size_t);
  void (*q8_0)(const void*, size_t, int, const BlockQ8*, size_t, int, size_t, float*, size_t);
};
std::vector<BatchKernels> batch_kernel_variants();
// The name of the F32/F16 batch kernels in use ("scalar", "avx2", "avx512").
const char* batch_kernel_name();

// The scalar versions, always available (tests compare the two paths).
float dot_f32_scalar(const float* w, const float* x, size_t n);
float dot_f16_scalar(const uint16_t* w, const float* x, size_t n);
float dot_q8_0_scalar(const BlockQ8* w, const BlockQ8* xq, size_t n);
void dot_rows_f32_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out);
void dot_rows_f16_scalar(const void* w, size_t row_bytes, int n_rows, const float* x, size_t n, float* out);
void dot_rows_q8_0_scalar(const void* w, size_t row_bytes, int n_rows, const BlockQ8* xq, size_t n,
                          float* out);

}  // namespace mctr::infer
