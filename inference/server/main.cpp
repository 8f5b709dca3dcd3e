// minictr-infer: the bundled CPU LLM server. Serves a llama GGUF model over HTTP with
// llama.cpp's server API. Stops cleanly on SIGINT / SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "server/server.h"

#ifndef MINICTR_BUNDLED_MODEL
#define MINICTR_BUNDLED_MODEL ""
#endif

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The bundled model where the build put it, else where the OCI image puts it.
std::string default_model() {
  std::string built = MINICTR_BUNDLED_MODEL;
  if (!built.empty() && access(built.c_str(), R_OK) == 0) return built;
  return "/app/models/minictr-fortunes-f32.gguf";
}
}  // namespace

int main(int argc, char** argv) {
  mctr::infer::ServerOptions opt;
  opt.model_path = env_or("MODEL_PATH", default_model());
  opt.metrics_log = env_or("METRICS_LOG_FILE", opt.metrics_log);
  opt.chat_history = env_or("CHAT_HISTORY_FILE", opt.chat_history);
  opt.threads = static_cast<int>(std::max(1u, std::min(4u, std::thread::hardware_concurrency())));

  CLI::App app{"minictr-infer: CPU inference server for llama-architecture GGUF models"};
  app.add_option("-m,--model", opt.model_path, "GGUF model file (env MODEL_PATH)")->capture_default_str();
  app.add_option("--host", opt.host, "address to listen on")->capture_default_str();
  app.add_option("--port", opt.port, "TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("-t,--threads", opt.threads, "threads for the matmuls")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("-c,--ctx-size", opt.ctx_size, "context size in tokens (0: the model's)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--parallel", opt.parallel, "requests generated at the same time (slots)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--cache-type-k", opt.cache_type_k, "KV cache type of the keys: f16 or f32")
      ->capture_default_str()
      ->check(CLI::IsMember({"f16", "f32"}));
  app.add_option("--cache-type-v", opt.cache_type_v, "KV cache type of the values: f16 or f32")
      ->capture_default_str()
      ->check(CLI::IsMember({"f16", "f32"}));
  app.add_option("--metrics-log", opt.metrics_log, "CSV file with one row per request (env METRICS_LOG_FILE)")
      ->capture_default_str();
  app.add_option("--chat-history", opt.chat_history,
                 "JSON file with the chat page's history (env CHAT_HISTORY_FILE)")
      ->capture_default_str();
  app.add_option("--history-max-messages", opt.history_max_messages,
                 "messages kept in the chat history (the oldest go first)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{2}, size_t{100000}));
  app.add_option("--history-max-bytes", opt.history_max_bytes, "size cap of the chat history file")
      ->capture_default_str()
      ->check(CLI::Range(size_t{4096}, size_t{1} << 30));
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client closing mid-stream must not kill the server

  try {
    mctr::infer::InferenceServer server(opt);
    int port = server.start();
    std::fprintf(stderr, "minictr-infer: listening on %s:%d, loading %s\n", opt.host.c_str(), port,
                 opt.model_path.c_str());
    // Wait for a stop signal, looking every 50 ms whether the model has loaded (no extra
    // thread: under a small pids limit every thread counts).
    bool reported = false;
    for (;;) {
      if (!reported && !server.loading()) {
        reported = true;
        if (!server.wait_loaded()) {
          std::fprintf(stderr, "minictr-infer: error: %s\n", server.load_error().c_str());
          server.stop();
          return 1;
        }
        std::fprintf(stderr, "minictr-infer: model loaded, ready\n");
      }
      timespec poll{0, 50'000'000};
      int sig = sigtimedwait(&stop_signals, nullptr, &poll);
      if (sig > 0) {
        std::fprintf(stderr, "minictr-infer: signal %d, stopping\n", sig);
        server.stop();
        return server.wait_loaded() ? 0 : 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minictr-infer: error: %s\n", e.what());
    return 1;
  }
}
