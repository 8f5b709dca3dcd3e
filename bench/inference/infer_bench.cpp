// minictr-infer-bench: prompt and generation speed of the inference engine.
//
// For each model (the bundled one, or random-weight models of the stories15M / stories110M
// shapes written as GGUF by this tool) and each thread count, it evaluates a prompt in one
// batch (prompt tokens/s) and then generates tokens one at a time, greedy (generation
// tokens/s). Peak RSS is read from getrusage. "gen t/cpu-s" divides by the CPU time the
// process got rather than wall time: on a shared machine it shows what the code would do on
// idle cores (for 1 thread; with 2 it also counts the workers' spinning). Numbers are compared with
// llama.cpp's generation speed measured on the same machine.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "model/synthetic.h"
#include "model/transformer.h"

using namespace mctr::infer;

namespace {

struct Result {
  double prompt_tps = 0, gen_tps = 0;
  double gen_cpu_tps = 0;  // generated tokens per second of CPU time used by the process
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

Result bench(const Model& m, int threads, int n_prompt, int n_gen) {
  ThreadPool pool(threads);
  Session s(m, std::min(m.config().ctx_len, n_prompt + n_gen + 1));
  std::vector<int> prompt;
  for (int i = 0; i < n_prompt; i++) prompt.push_back(3 + (i * 131) % (m.config().n_vocab - 3));
  using Clock = std::chrono::steady_clock;
  // Warm up: touch every weight page once so the first timing does not include page faults.
  m.forward(s, {1}, pool);
  s.reset();
  auto t0 = Clock::now();
  const float* l = m.forward(s, prompt, pool);
  double prompt_s = std::chrono::duration<double>(Clock::now() - t0).count();
  int n = m.config().n_vocab;
  auto t1 = Clock::now();
  double c1 = cpu_seconds();
  for (int i = 0; i < n_gen; i++) {
    int next = static_cast<int>(std::max_element(l, l + n) - l);
    l = m.forward(s, {next}, pool);
  }
  double gen_s = std::chrono::duration<double>(Clock::now() - t1).count();
  double gen_cpu = cpu_seconds() - c1;
  return {n_prompt / prompt_s, n_gen / gen_s, n_gen / gen_cpu};
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
  int n_prompt = 64, n_gen = 64;
  std::string workdir = "/tmp/minictr-infer-bench";
  CLI::App app{"minictr-infer-bench: tokens/s of the minictr inference engine"};
  app.add_option("--bundled", bundled, "the bundled GGUF model")->required();
  app.add_option("--models", shapes, "which models: bundled 15M 110M")->capture_default_str();
  app.add_option("--types", types, "weight types of the random models: F32 F16 Q8_0")->capture_default_str();
  app.add_option("--threads", threads, "thread counts")->capture_default_str();
  app.add_option("--prompt", n_prompt, "prompt tokens")->capture_default_str();
  app.add_option("--gen", n_gen, "generated tokens")->capture_default_str();
  app.add_option("--workdir", workdir, "where the random-weight models are written")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::filesystem::create_directories(workdir);

  // llama.cpp's generation tokens/s on this machine (2 threads), for the ratio column.
  auto reference = [](const std::string& shape, const std::string& type) -> double {
    if (shape == "15M" && type == "F32") return 590;
    if (shape == "110M" && type == "F32") return 120;
    if (shape == "110M" && type == "Q8_0") return 190;
    return 0;
  };

  std::printf("%-8s %-5s %7s %11s %9s %9s %13s %11s\n", "model", "type", "threads", "prompt t/s", "gen t/s",
              "vs llama", "gen t/cpu-s", "peak RSS MB");
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
        Result r = bench(m, th, n_prompt, n_gen);
        double ref = th == 2 ? reference(shape, tname) : 0;
        char ratio[32] = "-";
        if (ref > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", r.gen_tps / ref);
        std::printf("%-8s %-5s %7d %11.1f %9.1f %9s %13.1f %11.1f\n", shape.c_str(),
                    shape == "bundled" ? type_name(m.weight_type()) : tname.c_str(), th, r.prompt_tps,
                    r.gen_tps, ratio, r.gen_cpu_tps, peak_rss_kb() / 1024.0);
        std::fflush(stdout);
      }
    }
  }
  std::printf("simd: %s\n", simd_enabled() ? "AVX2/FMA/F16C" : "scalar");
  return 0;
}
