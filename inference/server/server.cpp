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
    auto e = std::make_unique<Engine>(opt_.model_path, opt_.threads, opt_.ctx_size, opt_.parallel);
    const ThreadPool& pool = e->pool();
    if (pool.size() < pool.requested())
      std::fprintf(stderr, "minictr-infer: warning: running with %d of %d threads (%s)\n", pool.size(),
                   pool.requested(), pool.start_error().c_str());
    std::lock_guard lk(load_mu_);
    engine_ = std::move(e);
    state_ = State::Ready;
  } catch (const std::exception& ex) {
    std::lock_guard lk(load_mu_);
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
  completion_routes();
  chat_routes();
}

void InferenceServer::completion_routes() {
  http_->Get("/health", guard([](const httplib::Request&, httplib::Response& res) {
               send_json(res, {{"status", "ok"}});
             }));

  http_->Post("/tokenize", guard([this](const httplib::Request& req, httplib::Response& res) {
                json body = parse_body(req);
                auto content = field<std::string>(body, "content", "");
                bool add_special = field<bool>(body, "add_special", false);
                auto ids = engine_->model().tokenizer().encode(content, add_special);
                if (field<bool>(body, "with_pieces", false)) {
                  json toks = json::array();
                  for (int id : ids)
                    toks.push_back({{"id", id}, {"piece", engine_->model().tokenizer().piece(id)}});
                  return send_json(res, {{"tokens", toks}});
                }
                send_json(res, {{"tokens", ids}});
              }));

  http_->Post("/detokenize", guard([this](const httplib::Request& req, httplib::Response& res) {
                json body = parse_body(req);
                std::vector<int> ids;
                if (body.contains("tokens")) {
                  if (!body["tokens"].is_array())
                    throw BadRequest("field 'tokens' must be an array of token ids");
                  for (auto& t : body["tokens"]) {
                    if (!t.is_number_integer())
                      throw BadRequest("field 'tokens' must be an array of token ids");
                    int id = t.get<int>();
                    if (!engine_->model().tokenizer().valid(id)) throw BadRequest("token id out of range");
                    ids.push_back(id);
                  }
                }
                send_json(res, {{"content", engine_->model().tokenizer().decode(ids)}});
              }));

  http_->Get("/metrics", guard([this](const httplib::Request&, httplib::Response& res) {
               const EngineStats& s = engine_->stats();
               double prompt_s = s.prompt_us / 1e6, pred_s = s.predicted_us / 1e6;
               std::string out;
               auto metric = [&](const char* name, const char* type, const char* help, double v) {
                 char line[64];
                 std::snprintf(line, sizeof line, "%.6g", v);
                 out += std::string("# HELP llamacpp:") + name + " " + help + "\n# TYPE llamacpp:" + name +
                        " " + type + "\nllamacpp:" + name + " " + line + "\n";
               };
               metric("prompt_tokens_total", "counter", "Number of prompt tokens processed.",
                      s.prompt_tokens);
               metric("prompt_seconds_total", "counter", "Prompt process time.", prompt_s);
               metric("tokens_predicted_total", "counter", "Number of generation tokens processed.",
                      s.predicted_tokens);
               metric("tokens_predicted_seconds_total", "counter", "Predict process time.", pred_s);
               metric("requests_total", "counter", "Completed completion requests.", s.requests);
               metric("prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.",
                      prompt_s > 0 ? s.prompt_tokens / prompt_s : 0);
               metric("predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.",
                      pred_s > 0 ? s.predicted_tokens / pred_s : 0);
               metric("requests_processing", "gauge", "Number of requests processing.", s.processing);
               metric("requests_deferred", "gauge", "Number of requests deferred.", s.deferred);
               metric("n_slots", "gauge", "Number of generation slots.", engine_->n_slots());
               res.set_content(out, "text/plain; version=0.0.4");
             }));

  // Shared by /completion and /v1/completions: parse, validate, tokenize.
  auto make_request = [this](const json& body, const char* n_key, int n_default) {
    CompletionRequest cr;
    const Tokenizer& tok = engine_->model().tokenizer();
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) throw BadRequest("missing 'prompt'");
    std::string text;
    if (it->is_array() && !it->empty() && it->front().is_string())
      it = it->begin();  // OpenAI: list of prompts
    if (it->is_string()) {
      text = it->get<std::string>();
      cr.prompt_tokens = tok.encode(text, tok.add_bos());
    } else if (it->is_array()) {
      for (auto& t : *it) {
        if (!t.is_number_integer() || !tok.valid(t.get<int>()))
          throw BadRequest("'prompt' token ids must be valid");
        cr.prompt_tokens.push_back(t.get<int>());
      }
      text = tok.decode(cr.prompt_tokens);
      if (cr.prompt_tokens.empty()) cr.prompt_tokens.push_back(tok.bos());
    } else {
      throw BadRequest("'prompt' must be a string or an array of token ids");
    }
    cr.n_predict = field<int>(body, n_key, n_default);
    cr.sampling = sampling_from(body);
    cr.stop = stop_strings(body);
    int n_ctx = engine_->n_ctx();
    int n_prompt = static_cast<int>(cr.prompt_tokens.size());
    if (cr.n_predict < -1) throw BadRequest(std::string("'") + n_key + "' must be -1 or more");
    if (cr.n_predict > n_ctx)
      throw BadRequest(std::string("'") + n_key + "' (" + std::to_string(cr.n_predict) +
                       ") exceeds the context size (" + std::to_string(n_ctx) + ")");
    if (n_prompt >= n_ctx)
      throw BadRequest("prompt is " + std::to_string(n_prompt) + " tokens, the context holds " +
                       std::to_string(n_ctx));
    if (cr.n_predict > 0 && n_prompt + cr.n_predict > n_ctx)
      throw BadRequest("prompt (" + std::to_string(n_prompt) + " tokens) plus '" + n_key + "' (" +
                       std::to_string(cr.n_predict) + ") exceeds the context size (" + std::to_string(n_ctx) +
                       ")");
    return std::make_pair(cr, text);
  };

  http_->Post(
      "/completion", guard([this, make_request](const httplib::Request& req, httplib::Response& res) {
        auto t0 = std::chrono::steady_clock::now();
        json body = parse_body(req);
        auto [cr, text] = make_request(body, "n_predict", -1);
        bool stream = field<bool>(body, "stream", false);
        auto final_json = [this, text](const CompletionResult& r, bool streaming) {
          json j = {{"content", streaming ? "" : r.content},
                    {"stop", true},
                    {"id_slot", r.slot},
                    {"model", opt_.model_path},
                    {"tokens_predicted", r.predicted_n},
                    {"tokens_evaluated", r.prompt_total},
                    {"tokens_cached", r.prompt_total - r.prompt_n},
                    {"stop_type", r.stop_type},
                    {"stopped_eos", r.stop_type == "eos"},
                    {"stopped_word", r.stop_type == "word"},
                    {"stopped_limit", r.stop_type == "limit"},
                    {"stopping_word", r.stopping_word},
                    {"prompt", text},
                    {"seed", r.seed},
                    {"truncated", false},
                    {"timings", timings_json(r)}};
          return j;
        };
        if (!stream) {
          CompletionResult r = engine_->complete(cr, nullptr);
          log_row(r, text,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
          return send_json(res, final_json(r, false));
        }
        res.set_chunked_content_provider("text/event-stream", [this, cr, text, t0, final_json](
                                                                  size_t, httplib::DataSink& sink) {
          try {
            CompletionResult r = engine_->complete(cr, [&](const std::string& piece) {
              std::string ev = sse({{"content", piece}, {"stop", false}});
              return sink.write(ev.data(), ev.size());
            });
            log_row(r, text,
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            if (r.stop_type != "abort") {
              std::string ev = sse(final_json(r, true));
              sink.write(ev.data(), ev.size());
            }
          } catch (const std::exception& e) {
            std::string ev =
                sse({{"error", {{"code", 500}, {"message", e.what()}, {"type", "server_error"}}}});
            sink.write(ev.data(), ev.size());
          }
          sink.done();
          return true;
        });
      }));

  http_->Post(
      "/v1/completions", guard([this, make_request](const httplib::Request& req, httplib::Response& res) {
        auto t0 = std::chrono::steady_clock::now();
        json body = parse_body(req);
        auto [cr, text] = make_request(body, "max_tokens", 16);
        if (body.contains("n") && field<int>(body, "n", 1) != 1) throw BadRequest("only n=1 is supported");
        bool stream = field<bool>(body, "stream", false);
        std::string id = "cmpl-" + std::to_string(++next_id_);
        std::string model = field<std::string>(body, "model", opt_.model_path);
        auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        auto finish = [](const CompletionResult& r) { return r.stop_type == "limit" ? "length" : "stop"; };
        auto usage = [](const CompletionResult& r) {
          return json{{"prompt_tokens", r.prompt_total},
                      {"completion_tokens", r.predicted_n},
                      {"total_tokens", r.prompt_total + r.predicted_n}};
        };
        auto chunk = [=](const std::string& txt, json finish_reason) {
          return json{
              {"id", id},
              {"object", "text_completion"},
              {"created", created},
              {"model", model},
              {"choices",
               {{{"text", txt}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason}}}}};
        };
        if (!stream) {
          CompletionResult r = engine_->complete(cr, nullptr);
          log_row(r, text,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
          json j = chunk(r.content, finish(r));
          j["usage"] = usage(r);
          j["timings"] = timings_json(r);
          return send_json(res, j);
        }
        res.set_chunked_content_provider("text/event-stream", [this, cr, text, t0, chunk, finish, usage](
                                                                  size_t, httplib::DataSink& sink) {
          try {
            CompletionResult r = engine_->complete(cr, [&](const std::string& piece) {
              std::string ev = sse(chunk(piece, nullptr));
              return sink.write(ev.data(), ev.size());
            });
            log_row(r, text,
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            if (r.stop_type != "abort") {
              json last = chunk("", finish(r));
              last["usage"] = usage(r);
              last["timings"] = timings_json(r);
              std::string ev = sse(last) + "data: [DONE]\n\n";
              sink.write(ev.data(), ev.size());
            }
          } catch (const std::exception& e) {
            std::string ev =
                sse({{"error", {{"code", 500}, {"message", e.what()}, {"type", "server_error"}}}});
            sink.write(ev.data(), ev.size());
          }
          sink.done();
          return true;
        });
      }));
}

}  // namespace mctr::infer
