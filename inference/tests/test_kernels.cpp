// Half floats, Q8_0 blocks and the dot products (SIMD against scalar).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "model/kernels.h"

namespace mctr::infer {
namespace {

TEST(Kernels, Fp16KnownValues) {
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);                // largest half
  EXPECT_EQ(fp32_to_fp16(1e6f), 0x7c00);                    // overflow -> inf
  EXPECT_EQ(fp32_to_fp16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(1.0009765625f), 0x3c01);
  EXPECT_EQ(fp32_to_fp16(1.00048828125f), 0x3c00);  // halfway: rounds to even
  EXPECT_EQ(fp16_to_fp32(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_fp32(0x0001), 5.960464477539063e-08f);
  EXPECT_TRUE(std::isinf(fp16_to_fp32(0x7c00)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
}

TEST(Kernels, Fp16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaNs compare unequal
    EXPECT_EQ(fp32_to_fp16(fp16_to_fp32(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
}

TEST(Kernels, F16DequantMatchesHalfPrecision) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 3);
  std::vector<float> x(1000);
  for (auto& v : x) v = nd(rng);
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); i++) h[i] = fp32_to_fp16(x[i]);
  std::vector<float> back(x.size());
  dequantize_row(GgmlType::F16, h.data(), back.data(), x.size());
  for (size_t i = 0; i < x.size(); i++) EXPECT_NEAR(back[i], x[i], std::fabs(x[i]) * 0x1p-11 + 1e-7) << i;
}

TEST(Kernels, Q8DequantIsWithinHalfAStep) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> ud(-4, 4);
  std::vector<float> x(32 * 20);
  for (auto& v : x) v = ud(rng);
  x[5] = 0;  // an exact zero stays zero
  std::vector<BlockQ8> q(x.size() / 32);
  quantize_row_q8_0(x.data(), q.data(), x.size());
  std::vector<float> back(x.size());
  dequantize_row(GgmlType::Q8_0, q.data(), back.data(), x.size());
  for (size_t b = 0; b < q.size(); b++) {
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    float step = amax / 127;
    for (int i = 0; i < 32; i++) EXPECT_NEAR(back[b * 32 + i], x[b * 32 + i], step * 0.5f + amax * 1e-3f);
  }
  EXPECT_EQ(back[5], 0.0f);
  // An all-zero block has scale 0 and decodes to zeros.
  std::vector<float> z(32, 0.0f);
  BlockQ8 zb;
  quantize_row_q8_0(z.data(), &zb, 32);
  EXPECT_EQ(zb.d, 0);
  dequantize_row(GgmlType::Q8_0, &zb, back.data(), 32);
  EXPECT_EQ(back[31], 0.0f);
}

TEST(Kernels, Q8BlockLayoutMatchesGgml) {
  // ggml's block_q8_0: fp16 d then 32 int8, 34 bytes. A block for 0..31 scaled by 1/127*31.
  std::vector<float> x(32);
  for (int i = 0; i < 32; i++) x[i] = static_cast<float>(i);
  BlockQ8 b;
  quantize_row_q8_0(x.data(), &b, 32);
  uint8_t raw[34];
  std::memcpy(raw, &b, 34);
  uint16_t d;
  std::memcpy(&d, raw, 2);
  EXPECT_EQ(d, fp32_to_fp16(31.0f / 127));
  EXPECT_EQ(static_cast<int8_t>(raw[2 + 31]), 127);
  EXPECT_EQ(static_cast<int8_t>(raw[2 + 0]), 0);
}

TEST(Kernels, SimdDotsMatchScalar) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 1);
  for (size_t n : {32u, 64u, 288u, 768u, 2048u, 40u}) {
    std::vector<float> w(n), x(n);
    for (auto& v : w) v = nd(rng);
    for (auto& v : x) v = nd(rng);
    double exact = 0;
    for (size_t i = 0; i < n; i++) exact += static_cast<double>(w[i]) * x[i];
    EXPECT_NEAR(dot_f32(w.data(), x.data(), n), exact, 1e-4 * std::sqrt(n));
    EXPECT_NEAR(dot_f32_scalar(w.data(), x.data(), n), exact, 1e-4 * std::sqrt(n));
    std::vector<uint16_t> wh(n);
    for (size_t i = 0; i < n; i++) wh[i] = fp32_to_fp16(w[i]);
    EXPECT_NEAR(dot_f16(wh.data(), x.data(), n), dot_f16_scalar(wh.data(), x.data(), n), 1e-4 * std::sqrt(n));
    EXPECT_NEAR(dot_f16(wh.data(), x.data(), n), exact, 1e-2 * std::sqrt(n));
    if (n % 32) continue;
    std::vector<BlockQ8> wq(n / 32), xq(n / 32);
    quantize_row_q8_0(w.data(), wq.data(), n);
    quantize_row_q8_0(x.data(), xq.data(), n);
    EXPECT_NEAR(dot_q8_0(wq.data(), xq.data(), n), dot_q8_0_scalar(wq.data(), xq.data(), n),
                1e-3 * std::sqrt(n));
    EXPECT_NEAR(dot_q8_0(wq.data(), xq.data(), n), exact, 0.05 * std::sqrt(n));
  }
}

// The row kernels (one token's matmul) against one scalar dot per row, for row counts that are and are not
// multiples of 4 and widths with and without a tail, rows padded apart like a real matrix.
TEST(Kernels, RowKernelsMatchOneDotPerRow) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0, 1);
  for (size_t n : {32u, 37u, 40u, 288u, 768u}) {
    for (int rows : {1, 3, 4, 7, 13, 45}) {
      std::vector<float> x(n), w(rows * n);
      for (auto& v : x) v = nd(rng);
      for (auto& v : w) v = nd(rng);
      std::vector<float> out(rows + 1, -7.0f);
      // Generation's floats: each row exactly what dot_f32/dot_f16/dot_q8_0 gives for it (the
      // prefetching row kernels change only what is in flight).
      dot_rows_f32(w.data(), n * 4, rows, x.data(), n, out.data());
      for (int r = 0; r < rows; r++) {
        EXPECT_NEAR(out[r], dot_f32_scalar(&w[r * n], x.data(), n), 1e-4 * std::sqrt(n)) << n << " " << r;
        EXPECT_EQ(out[r], dot_f32(&w[r * n], x.data(), n)) << n << " " << r;
      }
      EXPECT_EQ(out[rows], -7.0f) << "wrote past the last row";
      // How the rows are prefetched (the model's size and the CPU decide) changes no float.
      std::vector<float> streamed(rows + 1, -7.0f);
      dot_rows_f32(w.data(), n * 4, rows, x.data(), n, streamed.data(), RowFetch::kStreamed);
      EXPECT_EQ(streamed, out) << n;
      dot_rows_f32(w.data(), n * 4, rows, x.data(), n, streamed.data(), RowFetch::kStreamedNoPrefetch);
      EXPECT_EQ(streamed, out) << n;

      std::vector<uint16_t> wh(rows * n);
      for (size_t i = 0; i < wh.size(); i++) wh[i] = fp32_to_fp16(w[i]);
      dot_rows_f16(wh.data(), n * 2, rows, x.data(), n, out.data());
      for (int r = 0; r < rows; r++) {
        EXPECT_NEAR(out[r], dot_f16_scalar(&wh[r * n], x.data(), n), 1e-4 * std::sqrt(n)) << n << " " << r;
        EXPECT_EQ(out[r], dot_f16(&wh[r * n], x.data(), n)) << n << " " << r;
      }
      dot_rows_f16(wh.data(), n * 2, rows, x.data(), n, streamed.data(), RowFetch::kStreamed);
      EXPECT_EQ(streamed, out) << n;
      dot_rows_f16(wh.data(), n * 2, rows, x.data(), n, streamed.data(), RowFetch::kStreamedNoPrefetch);
      EXPECT_EQ(streamed, out) << n;

      std::vector<float> x1(n), out1(rows + 1, -7.0f);
      for (auto& v : x1) v = nd(rng);
      dot_rows2_f32(w.data(), n * 4, rows, x.data(), x1.data(), n, out.data(), out1.data());
      for (int r = 0; r < rows; r++) {
        EXPECT_NEAR(out[r], dot_f32_scalar(&w[r * n], x.data(), n), 1e-4 * std::sqrt(n)) << n << " " << r;
        EXPECT_NEAR(out1[r], dot_f32_scalar(&w[r * n], x1.data(), n), 1e-4 * std::sqrt(n)) << n << " " << r;
      }
      dot_rows2_f16(wh.data(), n * 2, rows, x.data(), x1.data(), n, out.data(), out1.data());
      for (int r = 0; r < rows; r++) {
        EXPECT_NEAR(out[r], dot_f16_scalar(&wh[r * n], x.data(), n), 1e-4 * std::sqrt(n)) << n << " " << r;
        EXPECT_NEAR(out1[r], dot_f16_scalar(&wh[r * n], x1.data(), n), 1e-4 * std::sqrt(n)) << n << " " << r;
      }
      EXPECT_EQ(out1[rows], -7.0f) << "wrote past the last row";

      if (n % 32) continue;
      const size_t nb = n / 32;
      std::vector<BlockQ8> wq(rows * nb), xq(nb);
      for (int r = 0; r < rows; r++) quantize_row_q8_0(&w[r * n], &wq[r * nb], n);
      quantize_row_q8_0(x.data(), xq.data(), n);
      dot_rows_q8_0(wq.data(), nb * sizeof(BlockQ8), rows, xq.data(), n, out.data());
      for (int r = 0; r < rows; r++) {
        EXPECT_NEAR(out[r], dot_q8_0_scalar(&wq[r * nb], xq.data(), n), 1e-3 * std::sqrt(n)) << n << " " << r;
        EXPECT_EQ(out[r], dot_q8_0(&wq[r * nb], xq.data(), n)) << n << " " << r;
      }
      EXPECT_EQ(out[rows], -7.0f);
      for (RowFetch fetch : {RowFetch::kStreamed, RowFetch::kStreamedNoPrefetch}) {
        dot_rows_q8_0(wq.data(), nb * sizeof(BlockQ8), rows, xq.data(), n, streamed.data(), fetch);
        EXPECT_EQ(streamed, out) << n;
      }
      // Each SIMD version, not only the one dispatch picked: one dot per row when cached, the
      // same floats however the rows are fetched.
      for (const Q8RowKernels& k : q8_0_row_kernel_variants()) {
        std::vector<float> cached(rows + 1, -7.0f);
        k.rows(wq.data(), nb * sizeof(BlockQ8), rows, xq.data(), n, cached.data(), RowFetch::kCached);
        for (int r = 0; r < rows; r++)
          EXPECT_NEAR(cached[r], dot_q8_0_scalar(&wq[r * nb], xq.data(), n), 1e-3 * std::sqrt(n)) << k.name;
        if (simd_enabled()) {
          EXPECT_EQ(cached, out) << k.name << " " << n << " " << rows;
        }
        for (RowFetch fetch : {RowFetch::kStreamed, RowFetch::kStreamedNoPrefetch}) {
          std::fill(streamed.begin(), streamed.end(), -7.0f);
          k.rows(wq.data(), nb * sizeof(BlockQ8), rows, xq.data(), n, streamed.data(), fetch);
          EXPECT_EQ(streamed, cached) << k.name << " " << n << " " << rows;
        }
      }
    }
  }
}

// The prompt-batch matmul against one scalar dot per (row, token): row and token counts that
// leave partial tiles (44 tokens: tiles of 6 and 5 in the AVX-512 kernel), widths with a tail, a
// width large enough for several token blocks, and strided rows, activations and outputs
// (nothing outside the results is written).
TEST(Kernels, MatmulBatchMatchesOneDotPerRowAndToken) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0, 1);
  struct Shape {
    size_t n;
    int rows, tokens;
  };
  for (Shape sh : {Shape{40, 7, 5}, Shape{288, 13, 7}, Shape{768, 8, 6}, Shape{100, 4, 1}, Shape{32, 1, 2},
                   Shape{8200, 6, 11}, Shape{24576, 5, 11}, Shape{96, 9, 44}}) {
    const size_t n = sh.n, x_stride = n + 3, out_stride = static_cast<size_t>(sh.rows) + 2;
    const size_t row_len = n + 5;  // padded rows, like a matrix with row_bytes > n elements
    std::vector<float> w(sh.rows * row_len), x(sh.tokens * x_stride);
    for (auto& v : w) v = nd(rng);
    for (auto& v : x) v = nd(rng);
    std::vector<uint16_t> wh(w.size());
    for (size_t i = 0; i < w.size(); i++) wh[i] = fp32_to_fp16(w[i]);
    const float tol = 1e-4f * std::sqrt(static_cast<float>(n));
    auto check = [&](const std::vector<float>& out, auto expected, const char* what) {
      for (int t = 0; t < sh.tokens; t++) {
        for (int r = 0; r < sh.rows; r++)
          EXPECT_NEAR(out[t * out_stride + r], expected(r, t), tol)
              << what << " n " << n << " r " << r << " t " << t;
        EXPECT_EQ(out[t * out_stride + sh.rows], -7.0f) << what << ": wrote past the last row";
      }
    };
    for (bool simd : {true, false}) {
      std::vector<float> out(sh.tokens * out_stride, -7.0f);
      (simd ? matmul_batch_f32 : matmul_batch_f32_scalar)(w.data(), row_len * 4, sh.rows, x.data(), x_stride,
                                                          sh.tokens, n, out.data(), out_stride);
      check(
          out, [&](int r, int t) { return dot_f32_scalar(&w[r * row_len], &x[t * x_stride], n); }, "f32");
      std::fill(out.begin(), out.end(), -7.0f);
      (simd ? matmul_batch_f16 : matmul_batch_f16_scalar)(wh.data(), row_len * 2, sh.rows, x.data(), x_stride,
                                                          sh.tokens, n, out.data(), out_stride);
      check(
          out, [&](int r, int t) { return dot_f16_scalar(&wh[r * row_len], &x[t * x_stride], n); }, "f16");
      if (n % 32) continue;
      const size_t nb = n / 32, xq_stride = nb + 1;
      std::vector<BlockQ8> wq(sh.rows * nb), xq(sh.tokens * xq_stride);
      for (int r = 0; r < sh.rows; r++) quantize_row_q8_0(&w[r * row_len], &wq[r * nb], n);
      for (int t = 0; t < sh.tokens; t++) quantize_row_q8_0(&x[t * x_stride], &xq[t * xq_stride], n);
      std::fill(out.begin(), out.end(), -7.0f);
      (simd ? matmul_batch_q8_0 : matmul_batch_q8_0_scalar)(wq.data(), nb * sizeof(BlockQ8), sh.rows,
                                                            xq.data(), xq_stride, sh.tokens, n, out.data(),
                                                            out_stride);
      check(
          out, [&](int r, int t) { return dot_q8_0_scalar(&wq[r * nb], &xq[t * xq_stride], n); }, "q8_0");
    }
  }
}

// Every batch kernel the CPU has (AVX2 and AVX-512 alike, not only the dispatched one)
// against its scalar twin, on widths with and without a 16-element tail (the AVX-512 masked
// loads), row counts that leave partial 4-row groups, token counts that leave partial 6-token
// tiles, and more rows than one L2 row block (so the next-rows prefetch runs). Q8_0 on the
// widths of whole blocks: partial 16-row groups and 8-token tiles of the VNNI-512 kernel, partial
// 8-row groups and 4-token tiles (every remainder) of the AVX2 one, batches of fewer than 4
// tokens (their fallback to the 4-row tiles), and weight bytes of -128 (not made by ggml's
// quantizer, but a file may hold them: the AVX2 kernels take |w| as unsigned).
TEST(Kernels, EveryBatchKernelMatchesItsScalarTwin) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0, 1);
  struct Shape {
    size_t n;
    int rows, tokens;
  };
  const auto variants = batch_kernel_variants();
  EXPECT_STREQ(variants.front().name, "scalar");
  for (Shape sh : {Shape{1, 3, 2}, Shape{15, 5, 7}, Shape{17, 9, 13}, Shape{48, 12, 6}, Shape{288, 90, 37},
                   Shape{2048, 70, 11}, Shape{100, 4, 1}, Shape{64, 16, 8}, Shape{32, 33, 4}, Shape{96, 5, 3},
                   Shape{160, 13, 6}, Shape{64, 7, 5}}) {
    const size_t n = sh.n, row_len = n + 3, x_stride = n + 1, out_stride = static_cast<size_t>(sh.rows) + 1;
    std::vector<float> w(sh.rows * row_len), x(sh.tokens * x_stride);
    for (auto& e : w) e = nd(rng);
    for (auto& e : x) e = nd(rng);
    std::vector<uint16_t> wh(w.size());
    for (size_t i = 0; i < w.size(); i++) wh[i] = fp32_to_fp16(w[i]);
    std::vector<float> want32(sh.tokens * out_stride), want16(sh.tokens * out_stride);
    matmul_batch_f32_scalar(w.data(), row_len * 4, sh.rows, x.data(), x_stride, sh.tokens, n, want32.data(),
                            out_stride);
    matmul_batch_f16_scalar(wh.data(), row_len * 2, sh.rows, x.data(), x_stride, sh.tokens, n, want16.data(),
                            out_stride);
    const float tol = 1e-4f * std::sqrt(static_cast<float>(n));
    for (const BatchKernels& k : variants) {
      for (bool f16 : {false, true}) {
        std::vector<float> out(sh.tokens * out_stride, -7.0f);
        if (f16)
          k.f16(wh.data(), row_len * 2, sh.rows, x.data(), x_stride, sh.tokens, n, out.data(), out_stride);
        else
          k.f32(w.data(), row_len * 4, sh.rows, x.data(), x_stride, sh.tokens, n, out.data(), out_stride);
        const auto& want = f16 ? want16 : want32;
        for (int t = 0; t < sh.tokens; t++) {
          for (int r = 0; r < sh.rows; r++)
            ASSERT_NEAR(out[t * out_stride + r], want[t * out_stride + r], tol)
                << k.name << (f16 ? " f16" : " f32") << " n " << n << " r " << r << " t " << t;
          ASSERT_EQ(out[t * out_stride + sh.rows], -7.0f) << k.name << ": wrote past the last row";
        }
      }
    }
    if (n % kQK8) continue;
    // Q8_0: whole blocks only; rows and activations quantized as the model's are.
    const size_t nb = n / kQK8, xq_stride = nb + 1;
    std::vector<BlockQ8> wq(sh.rows * nb), xq(sh.tokens * xq_stride);
    for (int r = 0; r < sh.rows; r++) quantize_row_q8_0(&w[r * row_len], &wq[r * nb], n);
    for (size_t i = 0; i < wq.size(); i += 3) wq[i].qs[i % kQK8] = -128;
    for (int t = 0; t < sh.tokens; t++) quantize_row_q8_0(&x[t * x_stride], &xq[t * xq_stride], n);
    std::vector<float> want(sh.tokens * out_stride);
    matmul_batch_q8_0_scalar(wq.data(), nb * sizeof(BlockQ8), sh.rows, xq.data(), xq_stride, sh.tokens, n,
                             want.data(), out_stride);
    for (const BatchKernels& k : variants) {
      std::vector<float> out(sh.tokens * out_stride, -7.0f);
      k.q8_0(wq.data(), nb * sizeof(BlockQ8), sh.rows, xq.data(), xq_stride, sh.tokens, n, out.data(),
             out_stride);
      for (int t = 0; t < sh.tokens; t++) {
        for (int r = 0; r < sh.rows; r++)
          ASSERT_NEAR(out[t * out_stride + r], want[t * out_stride + r], tol)
              << k.name << " q8_0 n " << n << " r " << r << " t " << t;
        ASSERT_EQ(out[t * out_stride + sh.rows], -7.0f) << k.name << " q8_0: wrote past the last row";
      }
    }
  }
}

// An F16 prompt batch gives each token the same floats as the batch of that token alone, for whole
// groups of 4 rows: the AVX2 kernel widens the rows to floats once for 6 or more tokens and
// converts them in its tiles for fewer, and the two must not differ in a bit (a greedy token
// would then depend on the batch size). n = 100 leaves an element tail.
TEST(Kernels, F16BatchGivesTheSameFloatsAsOneTokenAtATime) {
  std::mt19937 rng(17);
  std::normal_distribution<float> nd(0, 1);
  const size_t n = 100, x_stride = n + 1;
  const int rows = 12, tokens = 13;
  const size_t out_stride = rows;
  std::vector<uint16_t> w(rows * n);
  std::vector<float> x(tokens * x_stride);
  for (auto& e : w) e = fp32_to_fp16(nd(rng));
  for (auto& e : x) e = nd(rng);
  std::vector<float> batch(tokens * out_stride), one(tokens * out_stride);
  matmul_batch_f16(w.data(), n * 2, rows, x.data(), x_stride, tokens, n, batch.data(), out_stride);
  for (int t = 0; t < tokens; t++)
    matmul_batch_f16(w.data(), n * 2, rows, &x[t * x_stride], x_stride, 1, n, &one[t * out_stride],
                     out_stride);
  for (int t = 0; t < tokens; t++)
    for (int r = 0; r < rows; r++)
      ASSERT_EQ(batch[t * out_stride + r], one[t * out_stride + r])
          << batch_kernel_name() << " r " << r << " t " << t;
}

// Every elementwise kernel the CPU has (AVX2 and AVX-512 alike) against the scalar twins: widths
// with and without an 8- and 16-element tail, arguments from deep in exp's underflow to past its
// overflow.
TEST(Kernels, ElementwiseKernelsMatchScalar) {
  const auto variants = elementwise_kernel_variants();
  EXPECT_STREQ(variants.front().name, "scalar");
  std::mt19937 rng(17);
  std::normal_distribution<float> nd(0, 3);
  for (size_t n : {1, 15, 16, 17, 288, 770}) {
    std::vector<float> x(n), u(n), w(n);
    for (auto& v : x) v = nd(rng);
    for (auto& v : u) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    if (n > 4) {
      x[0] = -120.0f, x[1] = 95.0f, x[2] = -87.0f, x[3] = 0.0f;
    }
    const auto rel = [](float a) { return 2e-6f * std::fabs(a) + 1e-30f; };
    std::vector<float> a = x, b = x;
    for (const ElementwiseKernels& k : variants) {
      a = x, b = x;
      k.swiglu(a.data(), u.data(), n);
      swiglu_scalar(b.data(), u.data(), n);
      for (size_t i = 0; i < n; i++)
        ASSERT_NEAR(a[i], b[i], rel(b[i])) << k.name << " swiglu n " << n << " i " << i;
      a = x, b = x;
      k.softmax(a.data(), static_cast<int>(n), 0.7f);
      softmax_scaled_scalar(b.data(), static_cast<int>(n), 0.7f);
      for (size_t i = 0; i < n; i++)
        ASSERT_NEAR(a[i], b[i], rel(b[i])) << k.name << " softmax n " << n << " i " << i;
      k.rmsnorm(a.data(), x.data(), w.data(), static_cast<int>(n), 1e-5f);
      rmsnorm_scalar(b.data(), x.data(), w.data(), static_cast<int>(n), 1e-5f);
      for (size_t i = 0; i < n; i++)
        ASSERT_NEAR(a[i], b[i], rel(b[i])) << k.name << " rmsnorm n " << n << " i " << i;
    }
    // The dispatched ones are among them.
    a = x, b = x;
    swiglu(a.data(), u.data(), n);
    swiglu_scalar(b.data(), u.data(), n);
    for (size_t i = 0; i < n; i++) ASSERT_NEAR(a[i], b[i], rel(b[i])) << "swiglu n " << n << " i " << i;
    std::vector<uint16_t> h(n), hs(n);
    fp32_to_fp16_row(x.data(), h.data(), n);
    fp32_to_fp16_row_scalar(x.data(), hs.data(), n);
    EXPECT_EQ(h, hs) << "fp16 n " << n;
  }
}

// The SIMD quantizer gives the scalar one's bytes, ties (x * 127 / amax = k + 0.5) included.
TEST(Kernels, QuantizeSimdMatchesScalarBytes) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(32 * 64);
  for (auto& v : x) v = nd(rng);
  for (int b = 0; b < 8; b++) {  // blocks of exact halves: amax 127 makes id 1
    x[b * 32] = 127.0f;
    for (int i = 1; i < 32; i++) x[b * 32 + i] = (i % 2 ? -1.0f : 1.0f) * (static_cast<float>(i) + 0.5f);
  }
  for (int i = 0; i < 32; i++) x[8 * 32 + i] = 0.0f;  // an all-zero block
  std::vector<BlockQ8> a(64), b(64);
  quantize_row_q8_0(x.data(), a.data(), x.size());
  quantize_row_q8_0_scalar(x.data(), b.data(), x.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(BlockQ8)), 0);
  EXPECT_EQ(a[0].qs[1], -2);  // -1.5 rounds away from zero
  EXPECT_EQ(a[0].qs[2], 3);   // 2.5 too
}

TEST(Kernels, AttendMatchesScalar) {
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0, 1);
  for (int hd : {8, 48, 64, 80, 128, 12}) {
    for (int n_keys : {1, 2, 37}) {
      const size_t stride = 3 * hd;  // keys of other heads sit between
      std::vector<float> q(hd), k(n_keys * stride), v(n_keys * stride), att(n_keys), o1(hd), o2(hd);
      for (auto* vec : {&q, &k, &v})
        for (auto& e : *vec) e = nd(rng);
      float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      attend(q.data(), k.data() + hd, v.data() + hd, stride, n_keys, hd, scale, att.data(), o1.data());
      attend_scalar(q.data(), k.data() + hd, v.data() + hd, stride, n_keys, hd, scale, att.data(), o2.data());
      for (int i = 0; i < hd; i++) EXPECT_NEAR(o1[i], o2[i], 1e-5) << hd << " " << n_keys << " " << i;
      if (n_keys == 1) {
        for (int i = 0; i < hd; i++) EXPECT_NEAR(o1[i], v[hd + i], 1e-6);  // one key: its value
      }
    }
  }
}

// A prompt batch's attention against attend_scalar once per query: query t at position
// pos0 + t sees keys 0..pos0+t only (causal), with and without earlier context (pos0), head
// sizes with a 16-element tail, keys of other heads in between.
TEST(Kernels, AttendBatchMatchesOneQueryAtATime) {
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0, 1);
  for (int hd : {8, 48, 64, 20}) {
    for (int pos0 : {0, 5}) {
      for (int n_q : {1, 2, 9}) {
        const int n_keys = pos0 + n_q;
        const size_t kv_stride = 2 * hd, q_stride = 3 * hd, out_stride = hd + 4;
        std::vector<float> q(n_q * q_stride), k(n_keys * kv_stride), v(n_keys * kv_stride);
        for (auto* vec : {&q, &k, &v})
          for (auto& e : *vec) e = nd(rng);
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        std::vector<float> scratch(attend_batch_scratch(n_q, n_keys, hd)), out(n_q * out_stride, -7.0f);
        attend_batch(q.data() + hd, q_stride, n_q, pos0, {GgmlType::F32, k.data() + hd},
                     {GgmlType::F32, v.data() + hd}, kv_stride, hd, scale, scratch.data(), out.data(),
                     out_stride);
        std::vector<float> att(n_keys), want(hd);
        for (int t = 0; t < n_q; t++) {
          attend_scalar(q.data() + hd + t * q_stride, k.data() + hd, v.data() + hd, kv_stride, pos0 + t + 1,
                        hd, scale, att.data(), want.data());
          for (int i = 0; i < hd; i++)
            EXPECT_NEAR(out[t * out_stride + i], want[i], 1e-5) << hd << " " << pos0 << " " << t << " " << i;
          EXPECT_EQ(out[t * out_stride + hd], -7.0f) << "wrote past the head";
        }
      }
    }
  }
}

// Random keys and values as an F16 KV cache holds them, and as floats with the same
// (rounded) numbers: the F32 twin the F16 kernels are compared with.
struct RoundedKv {
  std::vector<float> k, v;
  std::vector<uint16_t> k16, v16;
  RoundedKv(size_t n, std::mt19937& rng) : k(n), v(n), k16(n), v16(n) {
    std::normal_distribution<float> nd(0, 1);
    for (size_t i = 0; i < n; i++) {
      k16[i] = fp32_to_fp16(nd(rng));
      v16[i] = fp32_to_fp16(nd(rng));
      k[i] = fp16_to_fp32(k16[i]);
      v[i] = fp16_to_fp32(v16[i]);
    }
  }
};

// The four pairs of KV cache types (F32/F16 keys, F32/F16 values): the dispatched kernel
// against its scalar twin, and F16 rows against F32 rows holding the same rounded numbers.
TEST(Kernels, AttendReadsF16Rows) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0, 1);
  for (int hd : {8, 64, 12}) {
    const int n_keys = 37;
    const size_t stride = 2 * hd;
    std::vector<float> q(hd), att(n_keys), want(hd), got(hd);
    for (auto& e : q) e = nd(rng);
    const RoundedKv kv(n_keys * stride, rng);
    const auto &k = kv.k, &v = kv.v;
    const auto &k16 = kv.k16, &v16 = kv.v16;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    attend_scalar(q.data(), k.data() + hd, v.data() + hd, stride, n_keys, hd, scale, att.data(), want.data());
    for (bool kh : {false, true})
      for (bool vh : {false, true}) {
        KvRows kr = kh ? KvRows{GgmlType::F16, k16.data() + hd} : KvRows{GgmlType::F32, k.data() + hd};
        KvRows vr = vh ? KvRows{GgmlType::F16, v16.data() + hd} : KvRows{GgmlType::F32, v.data() + hd};
        attend(q.data(), kr, vr, stride, n_keys, hd, scale, att.data(), got.data());
        for (int i = 0; i < hd; i++) EXPECT_NEAR(got[i], want[i], 1e-5) << hd << kh << vh << " " << i;
        attend_scalar(q.data(), kr, vr, stride, n_keys, hd, scale, att.data(), got.data());
        for (int i = 0; i < hd; i++) EXPECT_NEAR(got[i], want[i], 1e-5) << hd << kh << vh << " scalar " << i;
      }
  }
}

// F16 keys and values (an F16 KV cache) against attend_scalar over the same rounded numbers.
TEST(Kernels, AttendBatchReadsF16Rows) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 1);
  for (int hd : {8, 48, 64, 20}) {
    const int pos0 = 3, n_q = 7, n_keys = pos0 + n_q;
    const size_t kv_stride = 2 * hd;
    std::vector<float> q(n_q * hd);
    for (auto& e : q) e = nd(rng);
    const RoundedKv kv(n_keys * kv_stride, rng);
    const auto &k = kv.k, &v = kv.v;
    const auto &k16 = kv.k16, &v16 = kv.v16;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    std::vector<float> scratch(attend_batch_scratch(n_q, n_keys, hd)), out(n_q * hd);
    attend_batch(q.data(), hd, n_q, pos0, {GgmlType::F16, k16.data() + hd}, {GgmlType::F16, v16.data() + hd},
                 kv_stride, hd, scale, scratch.data(), out.data(), hd);
    std::vector<float> att(n_keys), want(hd);
    for (int t = 0; t < n_q; t++) {
      attend_scalar(q.data() + t * hd, k.data() + hd, v.data() + hd, kv_stride, pos0 + t + 1, hd, scale,
                    att.data(), want.data());
      for (int i = 0; i < hd; i++) EXPECT_NEAR(out[t * hd + i], want[i], 1e-4) << hd << " " << t << " " << i;
    }
  }
}

}  // namespace
}  // namespace mctr::infer
