// minictr-infer-bench: prompt and generation speed of the inference engine.
//
// For each model (the bundled one, or random-weight models of the stories15M / stories110M
// shapes written as GGUF by this tool) and each thread count, it evaluates a prompt in one
// batch (prompt tokens/s) and then generates tokens one at a time, greedy (generation
// tokens/s). Peak RSS is read from getrusage. "gen t/cpu-s" (and "prompt t/cpu-s", the last
// column) divides by the CPU time the process got rather than wall time: on a shared machine
// it shows what the code would do on idle cores (for 1 thread; with 2 it also counts the workers' spinning).
// run.sh measures llama.cpp's llama-bench on the same GGUF files in the same run and prints the ratios.
//
// Roofline: generating one token reads every weight once (plus one embedding row and the
// KV cache), so no code can generate faster than memory bandwidth / bytes read per token.
// The tool measures that bandwidth in the same run (a streaming read of a buffer much larger
// than the L3 cache, with 1 and 2 threads) and prints each row's roofline and how close the
// measured generation speed comes to it. Likewise for the prompt of F32 and F16 weights, a
// matrix product bound by the core's FP32 FMA throughput, which the tool measures too (1 and 2
// threads): "pp roof t/s" is that throughput / FLOPs per prompt token.
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "model/synthetic.h"
#include "model/transformer.h"

using namespace mctr::infer;

namespace {

struct Result {
  double prompt_tps = 0, gen_tps = 0;
  double gen_cpu_tps = 0;     // generated tokens per second of CPU time used by the process
  double prompt_cpu_tps = 0;  // prompt tokens per second of CPU time used by the process
};

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Writes the random model in a child process, so its buffers do not count in our peak RSS.
void write_model_in_child(const std::string& path, const SyntheticShape& s, GgmlType t) {
  pid_t pid = fork();
  if (pid == 0) {
    try {
      write_synthetic_model(path + ".tmp", s, t, 1);
      std::filesystem::rename(path + ".tmp", path);
      _exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "write %s: %s\n", path.c_str(), e.what());
      _exit(1);
    }
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "could not write %s\n", path.c_str());
    std::exit(1);
  }
}

Result bench(const Model& m, int threads, int n_prompt, int n_gen, GgmlType kv) {
  ThreadPool pool(threads);
  Session s(m, std::min(m.config().ctx_len, n_prompt + n_gen + 1), {kv, kv});
  std::vector<int> prompt;
  for (int i = 0; i < n_prompt; i++) prompt.push_back(3 + (i * 131) % (m.config().n_vocab - 3));
  using Clock = std::chrono::steady_clock;
  // Warm up with the prompt itself, as llama-bench does before its timed runs: every weight
  // page and the batch kernels' buffers get touched, and the pool's workers are running when
  // the timing starts. (After a 1-token warm-up a worker could still be waking up: a thread
  // of a freshly made pool, or one asleep on its idle CPU, which this VM took up to ~1 ms to
  // run; meanwhile the caller did the first layer alone.)
  m.forward(s, prompt, pool);
  s.reset();
  auto t0 = Clock::now();
  double c0 = cpu_seconds();
  const float* l = m.forward(s, prompt, pool);
  double prompt_s = std::chrono::duration<double>(Clock::now() - t0).count();
  double prompt_cpu = cpu_seconds() - c0;
  int n = m.config().n_vocab;
  auto t1 = Clock::now();
  double c1 = cpu_seconds();
  for (int i = 0; i < n_gen; i++) {
    int next = static_cast<int>(std::max_element(l, l + n) - l);
    l = m.forward(s, {next}, pool);
  }
  double gen_s = std::chrono::duration<double>(Clock::now() - t1).count();
  double gen_cpu = cpu_seconds() - c1;
  return {n_prompt / prompt_s, n_gen / gen_s, n_gen / gen_cpu, n_prompt / prompt_cpu};
}

// The mean of `reps` runs' tokens/s (what llama-bench -r prints as avg t/s).
Result bench_mean(const Model& m, int threads, int n_prompt, int n_gen, int reps, GgmlType kv) {
  Result sum;
  for (int i = 0; i < reps; i++) {
    Result r = bench(m, threads, n_prompt, n_gen, kv);
    sum.prompt_tps += r.prompt_tps / reps;
    sum.gen_tps += r.gen_tps / reps;
    sum.gen_cpu_tps += r.gen_cpu_tps / reps;
    sum.prompt_cpu_tps += r.prompt_cpu_tps / reps;
  }
  return sum;
}

// ---- Memory bandwidth (the roofline) ----

// The XOR of every 64-bit word of [p, p + n): each load's value is used, so the compiler
// cannot drop the loop. n is a multiple of 128 and p is 32-byte aligned.
__attribute__((target("avx2"))) uint64_t xor_fold_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return static_cast<uint64_t>(_mm256_extract_epi64(a, 0) ^ _mm256_extract_epi64(a, 1) ^
                               _mm256_extract_epi64(a, 2) ^ _mm256_extract_epi64(a, 3));
}

uint64_t xor_fold_scalar(const uint8_t* p, size_t n) {
  uint64_t a = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    a ^= w;
  }
  return a;
}

// Puts the calling thread on the t-th CPU this process may use (if there are that many): a
// 2-thread peak is that of two cores, and a scheduler that packs threads onto one vCPU (this
// development VM's) would otherwise measure one core twice.
void pin_to_cpu(int t) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &allowed) || seen++ != t) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    return;
  }
}

// Runs work(t) on `threads` threads at once, thread t pinned to the t-th CPU, all released
// together once each is ready: the seconds from the release to the last one's end.
double run_together(int threads, const std::function<void(int)>& work) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++)
    workers.emplace_back([&, t] {
      pin_to_cpu(t);
      ready++;
      while (!go.load(std::memory_order_acquire)) {
      }
      work(t);
    });
  while (ready.load() < threads) {
  }
  auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto& w : workers) w.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best of `passes` timed reads of the whole buffer, split into one slice per thread: GB/s.
double read_bandwidth_gbs(const uint8_t* buf, size_t bytes, int threads, int passes) {
  const bool avx2 = __builtin_cpu_supports("avx2");
  const size_t slice = bytes / threads / 128 * 128;
  double best = 0;
  uint64_t check = 0;
  for (int pass = 0; pass < passes; pass++) {
    std::vector<uint64_t> folds(threads);
    const double s = run_together(threads, [&](int t) {
      const uint8_t* p = buf + t * slice;
      folds[t] = avx2 ? xor_fold_avx2(p, slice) : xor_fold_scalar(p, slice);
    });
    best = std::max(best, static_cast<double>(slice) * threads / s / 1e9);
    uint64_t fold = 0;
    for (uint64_t f : folds) fold ^= f;
    if (pass > 0 && fold != check) {  // every pass reads the same bytes
      std::fprintf(stderr, "bandwidth: passes disagree (%llx != %llx)\n",
                   static_cast<unsigned long long>(fold), static_cast<unsigned long long>(check));
      std::exit(1);
    }
    check = fold;
  }
  return best;
}

// Measures read bandwidth with 1 and 2 threads over a `mb` MB buffer, in a child process so
// the buffer does not count in this process's peak RSS. Returns {1 thread, 2 threads} GB/s.
std::pair<double, double> measure_bandwidth(size_t mb) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    size_t bytes = mb << 20;
    void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) _exit(1);
    // Ask for 2 MB pages (transparent huge pages are often "madvise" only): with 4 KB pages
    // the page walks cost 10-25% of the bandwidth here, and the roofline is the best case.
    madvise(mem, bytes, MADV_HUGEPAGE);
    auto* buf = static_cast<uint8_t*>(mem);
    // Write every page (a pattern, not zeros, so no page is the shared zero page).
    for (size_t i = 0; i < bytes; i += 8) {
      uint64_t v = i * 0x9E3779B97F4A7C15ull;
      std::memcpy(buf + i, &v, 8);
    }
    double r[2] = {read_bandwidth_gbs(buf, bytes, 1, 5), read_bandwidth_gbs(buf, bytes, 2, 5)};
    munmap(mem, bytes);
    _exit(write(fds[1], r, sizeof r) == static_cast<ssize_t>(sizeof r) ? 0 : 1);
  }
  close(fds[1]);
  double r[2] = {0, 0};
  ssize_t got = pid > 0 ? read(fds[0], r, sizeof r) : -1;
  close(fds[0]);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || got != static_cast<ssize_t>(sizeof r) ||
      !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "could not measure memory bandwidth\n");
    std::exit(1);
  }
  return {r[0], r[1]};
}

// ---- FMA throughput (the prompt's roofline) ----

// A prompt of F32 or F16 weights is a matrix product done with FP32 FMAs (F16 weights are
// converted to FP32 first), so no code can evaluate it faster than the core's FMA throughput. Twelve
// independent accumulator chains: more than an FMA's latency times the FMA pipes (4 x 2), so
// the loop is bound by throughput alone. FLOPs (2 per lane per FMA) of `iters` iterations.
// Named accumulators, not an array: GCC keeps an array of vectors in memory here, and the
// loop then measures store-to-load forwarding instead of the FMAs.
#define MCTR_FMA12(fma, a, m, c)                                                                  \
  a##0 = fma(a##0, m, c), a##1 = fma(a##1, m, c), a##2 = fma(a##2, m, c), a##3 = fma(a##3, m, c), \
  a##4 = fma(a##4, m, c), a##5 = fma(a##5, m, c), a##6 = fma(a##6, m, c), a##7 = fma(a##7, m, c), \
  a##8 = fma(a##8, m, c), a##9 = fma(a##9, m, c), a##10 = fma(a##10, m, c), a##11 = fma(a##11, m, c)
#define MCTR_SUM12(a) (a##0 + a##1 + a##2 + a##3 + a##4 + a##5 + a##6 + a##7 + a##8 + a##9 + a##10 + a##11)

// Twelve chains with twelve different starting values (equal chains would be computed once).
#define MCTR_START12(V, set1)                                                                       \
  V v0 = set1(0.f), v1 = set1(1.f), v2 = set1(2.f), v3 = set1(3.f), v4 = set1(4.f), v5 = set1(5.f), \
    v6 = set1(6.f), v7 = set1(7.f), v8 = set1(8.f), v9 = set1(9.f), v10 = set1(10.f), v11 = set1(11.f)

// The same loop for the two vector widths: the target attribute and the intrinsics differ.
__attribute__((target("avx2,fma"))) double fma_flops_avx2(long iters, float* sink) {
  MCTR_START12(__m256, _mm256_set1_ps);
  for (long i = 0; i < iters; i++)
    MCTR_FMA12(_mm256_fmadd_ps, v, _mm256_set1_ps(0.999999f), _mm256_set1_ps(1e-7f));
  *sink += _mm256_cvtss_f32(MCTR_SUM12(v));  // used: the loop stays
  return 2.0 * 12 * 8 * static_cast<double>(iters);
}
__attribute__((target("avx512f"))) double fma_flops_avx512(long iters, float* sink) {
  MCTR_START12(__m512, _mm512_set1_ps);
  for (long i = 0; i < iters; i++)
    MCTR_FMA12(_mm512_fmadd_ps, v, _mm512_set1_ps(0.999999f), _mm512_set1_ps(1e-7f));
  *sink += _mm512_cvtss_f32(MCTR_SUM12(v));
  return 2.0 * 12 * 16 * static_cast<double>(iters);
}

// Best of 5 passes of `threads` threads each running the FMA loop at once: GFLOP/s, with the
// widest vectors the CPU has and our engine's prompt kernels use (AVX-512, else AVX2).
double fma_gflops(int threads) {
  const bool avx512 = __builtin_cpu_supports("avx512f") && std::getenv("MINICTR_INFER_NO_AVX512") == nullptr;
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
  const long iters = 20'000'000;  // ~0.1 s at ~100 GFLOP/s
  double best = 0;
  for (int pass = 0; pass < 5; pass++) {
    std::vector<float> sinks(threads);
    std::vector<double> flops(threads);
    const double s = run_together(threads, [&](int t) {
      flops[t] = avx512 ? fma_flops_avx512(iters, &sinks[t]) : fma_flops_avx2(iters, &sinks[t]);
    });
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / s / 1e9);
  }
  return best;
}

// FLOPs of one prompt of n tokens in one batch, counted as the matrix products do them: two
// per weight per token for every layer matrix, the output matrix for the last token only (as
// llama.cpp, whose llama-bench asks for that one's logits), and the attention (scores and
// weighted values, 2 x 2 x head_dim per head and key, each token attending to itself and all
// before it). Norms, RoPE, SwiGLU and the softmax are a few per mille and left out.
double prompt_flops(const Model& m, int n) {
  const GgufFile& f = m.file();
  double layer_weights = 0;
  for (const GgufTensor& t : f.tensors())
    if (t.name.rfind("blk.", 0) == 0 && t.dims.size() == 2)
      layer_weights += static_cast<double>(t.n_elements());
  const GgufTensor* out = f.find_tensor("output.weight");
  const double output_weights =
      static_cast<double>((out ? *out : f.tensor("token_embd.weight")).n_elements());
  const ModelConfig& c = m.config();
  const double attention = 4.0 * c.n_layers * c.q_dim() * (static_cast<double>(n) * (n + 1) / 2);
  return 2.0 * n * layer_weights + 2.0 * output_weights + attention;
}

// Bytes read from memory to generate one token at position `pos`: every weight matrix once,
// but of the token embedding only one row unless it doubles as the output matrix (tied
// embeddings), plus the K and V cache rows of positions 0..pos (F32).
double bytes_per_token(const Model& m, int pos, GgmlType kv) {
  const GgufFile& f = m.file();
  double bytes = 0;
  for (const GgufTensor& t : f.tensors()) bytes += static_cast<double>(t.nbytes);
  if (f.find_tensor("output.weight")) {
    const GgufTensor& e = f.tensor("token_embd.weight");
    bytes -= static_cast<double>(e.nbytes) - static_cast<double>(type_row_bytes(e.type, e.dims[0]));
  }
  const ModelConfig& c = m.config();
  bytes += 2.0 * c.n_layers * (pos + 1) * static_cast<double>(type_row_bytes(kv, c.kv_dim()));
  return bytes;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundled;
  std::vector<std::string> shapes = {"bundled", "15M", "110M"};
  std::vector<std::string> types = {"F32", "F16", "Q8_0"};
  std::vector<int> threads = {1, 2};
  int n_prompt = 64, n_gen = 64, reps = 1;
  std::string workdir = "/tmp/minictr-infer-bench";
  size_t bandwidth_mb = 512;
  std::string cache_type = "f16";
  CLI::App app{"minictr-infer-bench: tokens/s of the minictr inference engine"};
  app.add_option("--bundled", bundled, "the bundled GGUF model")->required();
  app.add_option("--models", shapes, "which models: bundled 15M 110M")->capture_default_str();
  app.add_option("--types", types, "weight types of the random models: F32 F16 Q8_0")->capture_default_str();
  app.add_option("--threads", threads, "thread counts")->capture_default_str();
  app.add_option("--prompt", n_prompt, "prompt tokens")->capture_default_str();
  app.add_option("--gen", n_gen, "generated tokens")->capture_default_str();
  app.add_option("--reps", reps, "timed runs per row (tokens/s is their mean)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--workdir", workdir, "where the random-weight models are written")->capture_default_str();
  app.add_option("--bandwidth-mb", bandwidth_mb,
                 "buffer read to measure memory bandwidth (0: skip the roofline)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // run.sh appends 0 after round 1
  app.add_option("--cache-type", cache_type, "KV cache type, keys and values (llama-bench's default: f16)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f16", "f32"}));
  CLI11_PARSE(app, argc, argv);
  const GgmlType kv = parse_kv_type(cache_type);
  std::filesystem::create_directories(workdir);
  std::pair<double, double> bw{0, 0};
  if (bandwidth_mb > 0) bw = measure_bandwidth(bandwidth_mb);
  // The FMA roofline with the bandwidth one (--bandwidth-mb 0 skips both: run.sh measures
  // them in its first round only).
  const double gflops[2] = {bandwidth_mb > 0 ? fma_gflops(1) : 0, bandwidth_mb > 0 ? fma_gflops(2) : 0};

  std::printf("%-8s %-5s %7s %11s %9s %13s %11s %8s %9s %9s %7s %14s %8s %11s %7s\n", "model", "type",
              "threads", "prompt t/s", "gen t/s", "gen t/cpu-s", "peak RSS MB", "MB/tok", "read GB/s",
              "roof t/s", "of roof", "prompt t/cpu-s", "GFLOP/s", "pp roof t/s", "of roof");
  for (auto& shape : shapes) {
    for (auto& tname : shape == "bundled" ? std::vector<std::string>{"file"} : types) {
      std::string path = bundled;
      if (shape != "bundled") {
        SyntheticShape s;
        if (shape == "15M")
          s = {288, 768, 6, 6, 6, 32000, 256};
        else if (shape == "110M")
          s = {768, 2048, 12, 12, 12, 32000, 1024};
        else {
          std::fprintf(stderr, "unknown model %s\n", shape.c_str());
          return 2;
        }
        GgmlType t = tname == "F16" ? GgmlType::F16 : tname == "Q8_0" ? GgmlType::Q8_0 : GgmlType::F32;
        path = workdir + "/stories" + shape + "-" + tname + ".gguf";
        if (!std::filesystem::exists(path)) write_model_in_child(path, s, t);
      }
      Model m(path);
      for (int th : threads) {
        Result r = bench_mean(m, th, n_prompt, n_gen, reps, kv);
        // Roofline at the middle of the generated tokens, with this thread count's bandwidth.
        double mb_tok = bytes_per_token(m, n_prompt + n_gen / 2, kv) / 1e6;
        double gbs = th == 1 ? bw.first : th == 2 ? bw.second : 0;
        char gbs_s[32] = "-", roof_s[32] = "-", pct_s[32] = "-";
        if (gbs > 0) {
          double roof = gbs * 1e3 / mb_tok;
          std::snprintf(gbs_s, sizeof gbs_s, "%.1f", gbs);
          std::snprintf(roof_s, sizeof roof_s, "%.1f", roof);
          std::snprintf(pct_s, sizeof pct_s, "%.0f%%", 100 * r.gen_tps / roof);
        }
        // The prompt's FMA roofline, for the weights the engine multiplies with FP32 FMAs (Q8_0
        // prompts are integer dot products: no FP32 roofline applies).
        char flops_s[32] = "-", pp_roof_s[32] = "-", pp_pct_s[32] = "-";
        const double peak = th == 1 ? gflops[0] : th == 2 ? gflops[1] : 0;
        if (peak > 0 && m.weight_type() != GgmlType::Q8_0) {
          double pp_roof = peak * 1e9 / (prompt_flops(m, n_prompt) / n_prompt);
          std::snprintf(flops_s, sizeof flops_s, "%.1f", peak);
          std::snprintf(pp_roof_s, sizeof pp_roof_s, "%.1f", pp_roof);
          std::snprintf(pp_pct_s, sizeof pp_pct_s, "%.0f%%", 100 * r.prompt_tps / pp_roof);
        }
        std::printf("%-8s %-5s %7d %11.1f %9.1f %13.1f %11.1f %8.1f %9s %9s %7s %14.1f %8s %11s %7s\n",
                    shape.c_str(), shape == "bundled" ? type_name(m.weight_type()) : tname.c_str(), th,
                    r.prompt_tps, r.gen_tps, r.gen_cpu_tps, peak_rss_kb() / 1024.0, mb_tok, gbs_s, roof_s,
                    pct_s, r.prompt_cpu_tps, flops_s, pp_roof_s, pp_pct_s);
        std::fflush(stdout);
      }
    }
  }
  std::printf("simd: %s\n", simd_enabled() ? "AVX2/FMA/F16C" : "scalar");
  return 0;
}
