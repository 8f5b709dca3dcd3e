// GET /health, /metrics, /props, /slots: what the server is and what it is doing, in
// llama.cpp's field names (clients such as llama.cpp's own web UI read /props on start).
#include <httplib.h>

#include <algorithm>
#include <cstdio>

#include "server/completion_params.h"
#include "server/http_json.h"
#include "server/server.h"

namespace mctr::infer {

namespace {
// One slot as llama.cpp's /slots and /props show it.
json slot_json(const SlotInfo& s, int n_ctx) {
  int n_remain = s.n_predict < 0 ? -1 : std::max(0, s.n_predict - s.n_decoded);
  return {{"id", s.id},
          {"id_task", s.id_task},
          {"n_ctx", n_ctx},
          {"speculative", false},
          {"is_processing", s.is_processing},
          {"params", generation_settings_json(s.sampling, s.n_predict, s.stop, false)},
          {"next_token",
           {{"has_next_token", s.is_processing},
            {"has_new_line", s.has_new_line},
            {"n_remain", n_remain},
            {"n_decoded", s.n_decoded}}}};
}
}  // namespace

void InferenceServer::info_routes() {
  http_->Get("/health", guard([](const httplib::Request&, httplib::Response& res) {
               send_json(res, {{"status", "ok"}});
             }));

  http_->Get("/props", guard([this](const httplib::Request&, httplib::Response& res) {
               // The settings a request gets when it sets nothing: a fresh slot's view.
               SlotInfo defaults;
               defaults.sampling = sampling_from(json::object());
               json d = slot_json(defaults, engine_->n_ctx());
               d["id_task"] = -1;
               d["params"]["stream"] = false;
               d["prompt"] = "";
               const PromptVocab& v = *vocab_;
               send_json(res, {{"default_generation_settings", d},
                               {"total_slots", engine_->n_slots()},
                               {"model_path", opt_.model_path},
                               {"modalities", {{"vision", false}, {"audio", false}}},
                               {"chat_template", ""},
                               {"bos_token", v.piece(v.tokenizer().bos())},
                               {"eos_token", v.piece(v.tokenizer().eos())},
                               {"build_info", "minictr-infer"},
                               {"is_sleeping", false}});
             }));

  http_->Get("/slots", guard([this](const httplib::Request& req, httplib::Response& res) {
               auto slots = engine_->slots();
               json out = json::array();
               bool any_free = false;
               for (auto& s : slots) {
                 out.push_back(slot_json(s, engine_->n_ctx()));
                 any_free |= !s.is_processing;
               }
               if (req.get_param_value("fail_on_no_slot") == "1" && !any_free)
                 return send_error(res, 503, "no slot available");
               send_json(res, out);
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
}

}  // namespace mctr::infer
