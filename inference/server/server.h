// The HTTP API, compatible with llama.cpp's server:
//   GET  /health          503 while the model loads, then 200 {"status":"ok"}
//   POST /completion      llama.cpp's native completion (stream:true -> server-sent events)
//   POST /v1/completions  OpenAI-style completion
//   POST /tokenize, /detokenize
//   GET  /metrics         Prometheus text format
// Bad input gives 400 with {"error":{"code":400,"message":...,"type":"invalid_request_error"}}.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/engine.h"
#include "server/metrics_log.h"

namespace httplib {
class Server;
}

namespace mctr::infer {

struct ServerOptions {
  std::string model_path;
  std::string host = "0.0.0.0";
  int port = 8080;  // 0: pick a free port (tests)
  int threads = 2;
  int ctx_size = 0;  // 0: the model's trained context length
  int parallel = 2;  // slots: requests that generate at the same time
  std::string metrics_log = "/app/data/metrics.csv";
};

class InferenceServer {
 public:
  explicit InferenceServer(ServerOptions opt);
  ~InferenceServer();

  // Binds the socket (throws on failure), starts loading the model and serving in the
  // background, and returns the bound port.
  int start();
  // Stops serving and joins the threads. Safe to call more than once.
  void stop();
  // Blocks until the model is loaded (true) or failed to load (false).
  bool wait_loaded();
  bool loading() const { return state_ == State::Loading; }
  std::string load_error() const;

 private:
  void load_model();
  void routes();

  ServerOptions opt_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Engine> engine_;
  MetricsLog metrics_log_;
  enum class State { Loading, Ready, Failed };
  std::atomic<State> state_{State::Loading};
  mutable std::mutex load_mu_;
  std::condition_variable loaded_;
  std::string load_error_;
  std::thread loader_, listener_;
  std::atomic<bool> listener_done_{false};
  std::atomic<uint64_t> next_id_{0};
};

}  // namespace mctr::infer
