// The HTTP API, compatible with llama.cpp's server:
//   GET  /health          503 while the model loads, then 200 {"status":"ok"}
//   POST /completion      llama.cpp's native completion (stream:true -> server-sent events)
//   POST /v1/completions  OpenAI-style completion
//   POST /tokenize, /detokenize  special tokens parsed and shown as llama.cpp does (prompt_vocab.h)
//   GET  /metrics         Prometheus text format
//   GET  /props           the defaults and the server (llama.cpp's default_generation_settings, ...)
//   GET  /slots           what each slot runs (?fail_on_no_slot=1: 503 when none is free)
//   GET  /v1/models       the one model (OpenAI-style list)
//   POST /v1/chat/completions  OpenAI-style chat (messages, stream), chat_template.h's template
//   GET  /, /index.html, /style.css, /app.js  the chat page (web/, compiled in)
//   POST /chat            the page without JavaScript: a form post, answered with a whole page
//   GET, DELETE /history  the chat history (chat_history.h)
//   GET  /container       the container's cgroup limits and usage (container_info.h)
// Bad input gives 400 with {"error":{"code":400,"message":...,"type":"invalid_request_error"}}.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/chat_history.h"
#include "server/chat_template.h"
#include "server/engine.h"
#include "server/metrics_log.h"
#include "server/prompt_vocab.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mctr::infer {

struct ServerOptions {
  std::string model_path;
  std::string host = "0.0.0.0";
  int port = 8080;  // 0: pick a free port (tests)
  int threads = 2;
  int ctx_size = 0;  // 0: the model's trained context length
  int parallel = 2;  // slots: requests that generate at the same time
  // KV cache element types, llama.cpp's --cache-type-k/v: F16 by default, as there.
  std::string cache_type_k = "f16", cache_type_v = "f16";
  std::string metrics_log = "/app/data/metrics.csv";
  std::string chat_history = "/app/data/chat_history.json";
  size_t history_max_messages = 200;
  size_t history_max_bytes = 1 << 20;
  std::string cgroup_root = "/sys/fs/cgroup";
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
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // A chat request, parsed and templated (chat_routes.cpp).
  struct ChatTurn {
    CompletionRequest cr;
    std::string user_text;  // the last user message (the metrics row and the history)
    int dropped = 0;        // oldest messages left out to fit the context
    bool save = false;      // append the exchange to the chat history
    std::chrono::steady_clock::time_point t0;
  };

  void load_model();
  void routes();
  // 503 until the model is loaded; exceptions become JSON errors (BadRequest: 400).
  Handler guard(Handler fn);
  void info_routes();        // /health, /metrics, /props, /slots
  void completion_routes();  // /completion, /v1/completions, /tokenize, /detokenize
  // The prompts of a completion request (one job each) with their settings, checked.
  struct CompletionJob {
    CompletionRequest cr;
    std::string text;    // for the metrics log
    std::string prompt;  // the tokens as text, special tokens shown (the answer's `prompt`)
  };
  std::vector<CompletionJob> completion_jobs(const json& body, int n_predict_default);
  void chat_routes();  // /v1/chat/completions, /chat
  void web_routes();   // the page, /history, /container
  void log_row(const CompletionResult& r, const std::string& prompt, double latency_ms);
  // Completes `turn`, saving it to the history when it asks to; returns the reply's result
  // and sets *history_error when the history could not be written.
  CompletionResult run_chat(const ChatTurn& turn, const TextSink& sink, std::string* history_error);
  ChatTurn prepare_chat(std::vector<ChatMessage> messages, int n_predict, const json& body);

  ServerOptions opt_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<PromptVocab> vocab_;
  MetricsLog metrics_log_;
  ChatHistory history_;
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
