// POST /completion, /v1/completions, /tokenize, /detokenize: llama.cpp's completion API.
#include <httplib.h>

#include <chrono>

#include "server/completion_params.h"
#include "server/http_json.h"
#include "server/server.h"

namespace mctr::infer {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

json stream_error(const std::exception& e) {
  return {{"error", {{"code", 500}, {"message", e.what()}, {"type", "server_error"}}}};
}
}  // namespace

std::vector<InferenceServer::CompletionJob> InferenceServer::completion_jobs(const json& body,
                                                                             int n_predict_default) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) throw BadRequest("missing 'prompt'");
  auto prompts = prompts_from_json(*it, *vocab_);
  if (prompts.empty()) throw BadRequest("'prompt' is an empty list");
  // llama.cpp reads n_predict, then max_tokens (the OpenAI name), on both endpoints.
  const char* n_key = body.contains("n_predict") ? "n_predict" : "max_tokens";
  CompletionRequest base;
  base.n_predict = field<int>(body, n_key, n_predict_default);
  base.sampling = sampling_from(body);
  base.stop = stop_strings(body);
  int n_ctx = engine_->n_ctx();
  if (base.n_predict < -1) throw BadRequest(std::string("'") + n_key + "' must be -1 or more");
  if (base.n_predict > n_ctx)
    throw BadRequest(std::string("'") + n_key + "' (" + std::to_string(base.n_predict) +
                     ") exceeds the context size (" + std::to_string(n_ctx) + ")");
  std::vector<CompletionJob> jobs;
  for (auto& p : prompts) {
    int n_prompt = static_cast<int>(p.tokens.size());
    if (n_prompt >= n_ctx)
      throw BadRequest("prompt is " + std::to_string(n_prompt) + " tokens, the context holds " +
                       std::to_string(n_ctx));
    if (base.n_predict > 0 && n_prompt + base.n_predict > n_ctx)
      throw BadRequest("prompt (" + std::to_string(n_prompt) + " tokens) plus '" + n_key + "' (" +
                       std::to_string(base.n_predict) + ") exceeds the context size (" +
                       std::to_string(n_ctx) + ")");
    CompletionJob job{base, std::move(p.text), vocab_->detokenize(p.tokens)};
    job.cr.prompt_tokens = std::move(p.tokens);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

void InferenceServer::completion_routes() {
  http_->Post("/tokenize", guard([this](const httplib::Request& req, httplib::Response& res) {
                json body = parse_body(req);
                auto content = field<std::string>(body, "content", "");
                bool add_special = field<bool>(body, "add_special", false);
                bool parse_special = field<bool>(body, "parse_special", true);
                auto ids = vocab_->tokenize(content, add_special, parse_special);
                if (!field<bool>(body, "with_pieces", false)) return send_json(res, {{"tokens", ids}});
                json toks = json::array();
                for (int id : ids) {
                  // A piece that is not whole UTF-8 (a byte token) goes out as its bytes.
                  std::string piece = vocab_->piece(id);
                  json p = piece;
                  if (!valid_utf8(piece)) {
                    p = json::array();
                    for (unsigned char c : piece) p.push_back(static_cast<int>(c));
                  }
                  toks.push_back({{"id", id}, {"piece", p}});
                }
                send_json(res, {{"tokens", toks}});
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
                    if (!vocab_->tokenizer().valid(id)) throw BadRequest("token id out of range");
                    ids.push_back(id);
                  }
                }
                send_json(res, {{"content", vocab_->detokenize(ids)}});
              }));

  http_->Post("/completion", guard([this](const httplib::Request& req, httplib::Response& res) {
                auto t0 = Clock::now();
                json body = parse_body(req);
                auto jobs = completion_jobs(body, -1);
                bool stream = field<bool>(body, "stream", false);
                bool return_tokens = field<bool>(body, "return_tokens", false);
                bool many = jobs.size() > 1;  // a list of prompts: the answer is a list, items with "index"
                auto final_json = [this, many, stream, return_tokens](const CompletionJob& job, size_t index,
                                                                      const CompletionResult& r) {
                  json j = {
                      {"content", stream ? "" : r.content},
                      {"tokens", return_tokens && !stream ? json(r.tokens) : json::array()},
                      {"stop", true},
                      {"id_slot", r.slot},
                      {"model", opt_.model_path},
                      {"tokens_predicted", r.predicted_n},
                      {"tokens_evaluated", r.prompt_total},
                      {"tokens_cached", r.prompt_total - r.prompt_n},
                      {"generation_settings",
                       generation_settings_json(job.cr.sampling, job.cr.n_predict, job.cr.stop, stream)},
                      {"prompt", job.prompt},
                      {"has_new_line", r.content.find('\n') != std::string::npos},
                      {"truncated", r.truncated},
                      {"stop_type", r.stop_type},
                      {"stopped_eos", r.stop_type == "eos"},
                      {"stopped_word", r.stop_type == "word"},
                      {"stopped_limit", r.stop_type == "limit"},
                      {"stopping_word", r.stopping_word},
                      {"seed", r.seed},
                      {"timings", timings_json(r)}};
                  j["generation_settings"]["n_ctx"] = engine_->n_ctx();
                  j["generation_settings"]["model"] = opt_.model_path;
                  if (many) j["index"] = index;
                  return j;
                };
                if (!stream) {
                  json all = json::array();
                  for (size_t i = 0; i < jobs.size(); i++) {
                    CompletionResult r = engine_->complete(jobs[i].cr, nullptr);
                    log_row(r, jobs[i].text, ms_since(t0));
                    all.push_back(final_json(jobs[i], i, r));
                  }
                  return send_json(res, many ? all : all[0]);
                }
                res.set_chunked_content_provider(
                    "text/event-stream", [this, jobs, many, t0, final_json](size_t, httplib::DataSink& sink) {
                      try {
                        for (size_t i = 0; i < jobs.size(); i++) {
                          CompletionResult r = engine_->complete_pieces(
                              jobs[i].cr, [&](const std::string& piece, const std::vector<int>& tokens) {
                                json ev = {{"content", piece}, {"tokens", tokens}, {"stop", false}};
                                if (many) ev["index"] = i;
                                std::string s = sse(ev);
                                return sink.write(s.data(), s.size());
                              });
                          log_row(r, jobs[i].text, ms_since(t0));
                          if (r.stop_type == "abort") break;
                          std::string s = sse(final_json(jobs[i], i, r));
                          sink.write(s.data(), s.size());
                        }
                      } catch (const std::exception& e) {
                        std::string s = sse(stream_error(e));
                        sink.write(s.data(), s.size());
                      }
                      sink.done();
                      return true;
                    });
              }));

  http_->Post(
      "/v1/completions", guard([this](const httplib::Request& req, httplib::Response& res) {
        auto t0 = Clock::now();
        json body = parse_body(req);
        // llama.cpp's default is its -n (-1: to the end of text or of the context), not OpenAI's 16.
        auto jobs = completion_jobs(body, -1);
        if (body.contains("n") && field<int>(body, "n", 1) != 1) throw BadRequest("only n=1 is supported");
        bool stream = field<bool>(body, "stream", false);
        std::string id = "cmpl-" + std::to_string(++next_id_);
        std::string model = field<std::string>(body, "model", opt_.model_path);
        auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        auto finish = [](const CompletionResult& r) { return r.stop_type == "limit" ? "length" : "stop"; };
        auto choice = [](size_t index, const std::string& txt, json finish_reason) {
          return json{
              {"text", txt}, {"index", index}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
        };
        auto envelope = [=](json choices) {
          return json{{"id", id},
                      {"object", "text_completion"},
                      {"created", created},
                      {"model", model},
                      {"choices", std::move(choices)}};
        };
        // One choice per prompt; usage and timings add up the prompts.
        struct Totals {
          int prompt = 0, completion = 0;
          CompletionResult sum;
          void add(const CompletionResult& r) {
            prompt += r.prompt_total;
            completion += r.predicted_n;
            sum.prompt_n += r.prompt_n;
            sum.prompt_ms += r.prompt_ms;
            sum.predicted_n += r.predicted_n;
            sum.predicted_ms += r.predicted_ms;
          }
          json usage() const {
            return {{"prompt_tokens", prompt},
                    {"completion_tokens", completion},
                    {"total_tokens", prompt + completion}};
          }
        };
        if (!stream) {
          json choices = json::array();
          Totals tot;
          for (size_t i = 0; i < jobs.size(); i++) {
            CompletionResult r = engine_->complete(jobs[i].cr, nullptr);
            log_row(r, jobs[i].text, ms_since(t0));
            choices.push_back(choice(i, r.content, finish(r)));
            tot.add(r);
          }
          json j = envelope(choices);
          j["usage"] = tot.usage();
          j["timings"] = timings_json(tot.sum);
          return send_json(res, j);
        }
        res.set_chunked_content_provider(
            "text/event-stream", [this, jobs, t0, choice, envelope, finish](size_t, httplib::DataSink& sink) {
              try {
                Totals tot;
                bool aborted = false;
                for (size_t i = 0; i < jobs.size() && !aborted; i++) {
                  CompletionResult r = engine_->complete(jobs[i].cr, [&](const std::string& piece) {
                    std::string ev = sse(envelope({choice(i, piece, nullptr)}));
                    return sink.write(ev.data(), ev.size());
                  });
                  log_row(r, jobs[i].text, ms_since(t0));
                  aborted = r.stop_type == "abort";
                  tot.add(r);
                  if (aborted) break;
                  json last = envelope({choice(i, "", finish(r))});
                  if (i + 1 == jobs.size()) {
                    last["usage"] = tot.usage();
                    last["timings"] = timings_json(tot.sum);
                  }
                  std::string ev = sse(last);
                  sink.write(ev.data(), ev.size());
                }
                if (!aborted) sink.write("data: [DONE]\n\n", 14);
              } catch (const std::exception& e) {
                std::string ev = sse(stream_error(e));
                sink.write(ev.data(), ev.size());
              }
              sink.done();
              return true;
            });
      }));
}

}  // namespace mctr::infer
