#include "server/server.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>

#include "server/http_json.h"
#include "util/error.h"

namespace mctr::infer {

namespace {

// The HTTP connection workers. httplib's own ThreadPool creates its threads in its
// constructor and cannot survive one failing (a worker would be left waiting on a condition
// variable that is being destroyed). This queue starts as many as the system allows, and
// with none at all it serves each connection on the listener thread itself.
class HttpWorkers : public httplib::TaskQueue {
 public:
  explicit HttpWorkers(int n) {
    std::string why;
    threads_ = start_threads(
        n, [this] { work(); }, &why);
    if (static_cast<int>(threads_.size()) < n)
      std::fprintf(stderr, "minictr-infer: warning: started %zu of %d HTTP worker threads (%s)%s\n",
                   threads_.size(), n, why.c_str(),
                   threads_.empty() ? ": connections are served one at a time" : "");
  }
  ~HttpWorkers() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    if (threads_.empty()) return fn();
    {
      std::lock_guard lk(mu_);
      jobs_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and nothing left to serve
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

InferenceServer::InferenceServer(ServerOptions opt)
    : opt_(std::move(opt)),
      http_(std::make_unique<httplib::Server>()),
      metrics_log_(opt_.metrics_log),
      history_(opt_.chat_history, opt_.history_max_messages, opt_.history_max_bytes) {}

InferenceServer::~InferenceServer() { stop(); }

int InferenceServer::start() {
  // Enough HTTP workers that /health and /metrics answer while every slot is generating.
  int workers = opt_.parallel + 4;
  http_->new_task_queue = [workers] { return new HttpWorkers(workers); };
  http_->set_payload_max_length(8 << 20);
  history_.load();
  routes();
  int port = opt_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(opt_.host);
    if (port < 0) throw Error("cannot bind " + opt_.host + " to a free port");
  } else if (!http_->bind_to_port(opt_.host, port)) {
    throw Error("cannot bind " + opt_.host + ":" + std::to_string(port) + " (in use, or not permitted)");
  }
  // Without a listener thread there is no server: that is an error for the caller.
  try {
    listener_ = std::thread([this] {
      try {
        http_->listen_after_bind();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "minictr-infer: error: HTTP server: %s\n", e.what());
        std::_Exit(1);
      }
      listener_done_ = true;
    });
  } catch (const std::system_error& e) {
    throw Error(std::string("cannot start the HTTP listener thread (pids limit?): ") + e.what());
  }
  try {
    loader_ = std::thread([this] { load_model(); });
  } catch (const std::system_error& e) {
    // No thread to spare (pids limit): load right here; /health answers 503 meanwhile.
    std::fprintf(stderr, "minictr-infer: warning: no loader thread (%s), loading in the foreground\n",
                 e.what());
    load_model();
  }
  return port;
}

void InferenceServer::stop() {
  if (listener_.joinable()) {
    // httplib's stop() does nothing until listen_after_bind() has marked the server running;
    // a stop right after start() must wait for that, or the join below would never return.
    while (!http_->is_running() && !listener_done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http_->stop();
    listener_.join();
  }
  if (loader_.joinable()) loader_.join();
}

void InferenceServer::load_model() {
  try {
    auto e =
        std::make_unique<Engine>(opt_.model_path, opt_.threads, opt_.ctx_size, opt_.parallel,
                                 KvTypes{parse_kv_type(opt_.cache_type_k), parse_kv_type(opt_.cache_type_v)});
    const ThreadPool& pool = e->pool();
    if (pool.size() < pool.requested())
      std::fprintf(stderr, "minictr-infer: warning: running with %d of %d threads (%s)\n", pool.size(),
                   pool.requested(), pool.start_error().c_str());
    auto vocab = std::make_unique<PromptVocab>(e->model());
    std::lock_guard lk(load_mu_);
    engine_ = std::move(e);
    vocab_ = std::move(vocab);
    state_ = State::Ready;
  } catch (const std::exception& ex) {
    std::lock_guard lk(load_mu_);
    engine_.reset();
    load_error_ = ex.what();
    state_ = State::Failed;
  }
  loaded_.notify_all();
}

bool InferenceServer::wait_loaded() {
  std::unique_lock lk(load_mu_);
  loaded_.wait(lk, [&] { return state_ != State::Loading; });
  return state_ == State::Ready;
}

std::string InferenceServer::load_error() const {
  std::lock_guard lk(load_mu_);
  return load_error_;
}

InferenceServer::Handler InferenceServer::guard(Handler fn) {
  return [this, fn](const httplib::Request& req, httplib::Response& res) {
    if (state_ == State::Loading) return send_error(res, 503, "Loading model");
    if (state_ == State::Failed) return send_error(res, 500, "model failed to load: " + load_error());
    try {
      fn(req, res);
    } catch (const BadRequest& e) {
      send_error(res, 400, e.what());
    } catch (const json::exception& e) {
      send_error(res, 400, std::string("bad request: ") + e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    }
  };
}

void InferenceServer::log_row(const CompletionResult& r, const std::string& prompt, double latency_ms) {
  MetricsRow row;
  row.latency_ms = latency_ms;
  row.prompt_tokens = r.prompt_total;
  row.generated_tokens = r.predicted_n;
  row.tokens_per_second = r.predicted_ms > 0 ? r.predicted_n * 1000.0 / r.predicted_ms : 0;
  row.prompt = prompt;
  row.timestamp = iso_timestamp_now();
  metrics_log_.append(row);
}

void InferenceServer::routes() {
  // Errors httplib answers itself (404, 413 payload too large, ...) get a JSON body too, so
  // the page can always show a message.
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404   ? "no such endpoint"
                      : res.status == 413 ? "request too large (the limit is 8 MiB)"
                                          : "HTTP error " + std::to_string(res.status);
    send_error(res, res.status, msg);
  });
  web_routes();
  info_routes();
  completion_routes();
  chat_routes();
}

}  // namespace mctr::infer
