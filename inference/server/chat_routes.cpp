// POST /v1/chat/completions: OpenAI's chat format on top of the completion engine, with
// chat_template.h's template. The page uses it too (stream:true, save_history:true).
#include <httplib.h>

#include <chrono>

#include "server/http_json.h"
#include "server/metrics_log.h"
#include "server/server.h"

namespace mctr::infer {

namespace {
using Clock = std::chrono::steady_clock;

std::string trim_space(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}
}  // namespace

InferenceServer::ChatTurn InferenceServer::prepare_chat(std::vector<ChatMessage> messages, int n_predict,
                                                        const json& body) {
  ChatTurn turn;
  turn.t0 = Clock::now();
  turn.user_text = messages.back().content;
  int n_ctx = engine_->n_ctx();
  if (n_predict < -1) throw BadRequest("'max_tokens' must be -1 or more");
  if (n_predict > n_ctx)
    throw BadRequest("'max_tokens' (" + std::to_string(n_predict) + ") exceeds the context size (" +
                     std::to_string(n_ctx) + ")");
  turn.cr.n_predict = n_predict;
  turn.cr.sampling = sampling_from(body);
  turn.cr.stop = stop_strings(body);
  for (auto& s : chat_stops()) turn.cr.stop.push_back(s);

  // Room for the reply: max_tokens, or half the context when it runs to the end.
  int reserve = n_predict > 0 ? n_predict : n_ctx / 2;
  const Tokenizer& tok = engine_->model().tokenizer();
  std::vector<int> tokens;
  render_chat_fitting(
      std::move(messages),
      [&](const std::string& text) {
        tokens = tok.encode(text, tok.add_bos());
        return static_cast<int>(tokens.size()) + reserve <= n_ctx;
      },
      &turn.dropped);
  turn.cr.prompt_tokens = std::move(tokens);
  return turn;
}

CompletionResult InferenceServer::run_chat(const ChatTurn& turn, const TextSink& sink,
                                           std::string* history_error) {
  // The template ends in "Assistant:": the reply starts with a space, which is not content.
  bool started = false;
  TextSink trimmed;
  if (sink)
    trimmed = [&](const std::string& piece) {
      if (started) return sink(piece);
      auto first = piece.find_first_not_of(" \t\r\n");
      if (first == std::string::npos) return true;
      started = true;
      return sink(piece.substr(first));
    };
  CompletionResult r = engine_->complete(turn.cr, trimmed);
  double latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - turn.t0).count();
  log_row(r, turn.user_text, latency_ms);
  r.content = trim_space(r.content);
  if (turn.save && r.stop_type != "abort") {
    std::string now = iso_timestamp_now();
    json user = {{"role", "user"}, {"content", turn.user_text}, {"time", now}};
    json reply = {{"role", "assistant"},
                  {"content", r.content},
                  {"time", now},
                  {"tokens", r.predicted_n},
                  {"tokens_per_second", r.predicted_ms > 0 ? r.predicted_n * 1000.0 / r.predicted_ms : 0.0},
                  {"latency_ms", latency_ms}};
    std::string err = history_.append({user, reply});
    if (history_error) *history_error = err;
  }
  return r;
}

void InferenceServer::chat_routes() {
  // Chat clients list the models first; there is one, named after its file.
  http_->Get("/v1/models", guard([this](const httplib::Request&, httplib::Response& res) {
               send_json(res, {{"object", "list"},
                               {"data",
                                {{{"id", opt_.model_path},
                                  {"object", "model"},
                                  {"created", 0},
                                  {"owned_by", "minictr"},
                                  {"meta", {{"n_ctx", engine_->n_ctx()}}}}}}});
             }));
  http_->Post(
      "/v1/chat/completions", guard([this](const httplib::Request& req, httplib::Response& res) {
        json body = parse_body(req);
        auto messages = parse_chat_messages(body.contains("messages") ? body["messages"] : json());
        if (body.contains("n") && field<int>(body, "n", 1) != 1) throw BadRequest("only n=1 is supported");
        // OpenAI's names first, llama.cpp's n_predict last; -1 (default): to the end of the context.
        int n_predict = field<int>(body, "n_predict", -1);
        n_predict = field<int>(body, "max_completion_tokens", n_predict);
        n_predict = field<int>(body, "max_tokens", n_predict);
        auto turn = std::make_shared<ChatTurn>(prepare_chat(std::move(messages), n_predict, body));
        turn->save = field<bool>(body, "save_history", false);
        bool stream = field<bool>(body, "stream", false);
        std::string id = "chatcmpl-" + std::to_string(++next_id_);
        std::string model = field<std::string>(body, "model", opt_.model_path);
        auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        auto finish = [](const CompletionResult& r) { return r.stop_type == "limit" ? "length" : "stop"; };
        auto extras = [turn](json& j, const CompletionResult& r, const std::string& history_error) {
          j["usage"] = {{"prompt_tokens", r.prompt_total},
                        {"completion_tokens", r.predicted_n},
                        {"total_tokens", r.prompt_total + r.predicted_n}};
          j["timings"] = timings_json(r);
          j["dropped_messages"] = turn->dropped;
          if (!history_error.empty()) j["history_error"] = history_error;
        };
        if (!stream) {
          std::string history_error;
          CompletionResult r = run_chat(*turn, nullptr, &history_error);
          json j = {{"id", id},
                    {"object", "chat.completion"},
                    {"created", created},
                    {"model", model},
                    {"choices",
                     {{{"index", 0},
                       {"message", {{"role", "assistant"}, {"content", r.content}}},
                       {"finish_reason", finish(r)}}}}};
          extras(j, r, history_error);
          return send_json(res, j);
        }
        auto chunk = [=](json delta, json finish_reason) {
          return json{{"id", id},
                      {"object", "chat.completion.chunk"},
                      {"created", created},
                      {"model", model},
                      {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}}}};
        };
        res.set_chunked_content_provider(
            "text/event-stream", [this, turn, chunk, finish, extras](size_t, httplib::DataSink& sink) {
              try {
                std::string first = sse(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
                std::string history_error;
                if (sink.write(first.data(), first.size())) {
                  CompletionResult r = run_chat(
                      *turn,
                      [&](const std::string& piece) {
                        std::string ev = sse(chunk({{"content", piece}}, nullptr));
                        return sink.write(ev.data(), ev.size());
                      },
                      &history_error);
                  if (r.stop_type != "abort") {
                    json last = chunk(json::object(), finish(r));
                    extras(last, r, history_error);
                    std::string ev = sse(last) + "data: [DONE]\n\n";
                    sink.write(ev.data(), ev.size());
                  }
                }
              } catch (const std::exception& e) {
                std::string ev = sse(error_json(500, e.what()));
                sink.write(ev.data(), ev.size());
              }
              sink.done();
              return true;
            });
      }));
}

}  // namespace mctr::infer
