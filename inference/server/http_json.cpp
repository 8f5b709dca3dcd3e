#include "server/http_json.h"

#include <httplib.h>

namespace mctr::infer {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json error_json(int status, const std::string& msg) {
  const char* type = status == 400   ? "invalid_request_error"
                     : status == 503 ? "unavailable_error"
                     : status < 500  ? "invalid_request_error"
                                     : "server_error";
  return {{"error", {{"code", status}, {"message", msg}, {"type", type}}}};
}

void send_json(httplib::Response& res, const json& j, int status) {
  res.status = status;
  res.set_content(dump(j), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& msg) {
  send_json(res, error_json(status, msg), status);
}

json parse_body(const httplib::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) throw BadRequest("request body is not valid JSON");
  if (!body.is_object()) throw BadRequest("request body must be a JSON object");
  return body;
}

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

std::vector<std::string> stop_strings(const json& body) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return {};
  if (it->is_string()) return {it->get<std::string>()};
  if (!it->is_array()) throw BadRequest("field 'stop' must be a string or an array of strings");
  std::vector<std::string> out;
  for (auto& s : *it) {
    if (!s.is_string()) throw BadRequest("field 'stop' must be a string or an array of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

SamplingParams sampling_from(const json& body) {
  SamplingParams p;
  // llama.cpp's default since 2024 (common_params_sampling): no repeat penalty. The model
  // layer's 1.1 would make the same request give other text than llama-server.
  p.repeat_penalty = 1.0f;
  p.temperature = field<float>(body, "temperature", p.temperature);
  p.top_k = field<int>(body, "top_k", p.top_k);
  p.top_p = field<float>(body, "top_p", p.top_p);
  p.min_p = field<float>(body, "min_p", p.min_p);
  p.repeat_penalty = field<float>(body, "repeat_penalty", p.repeat_penalty);
  p.repeat_last_n = field<int>(body, "repeat_last_n", p.repeat_last_n);
  p.seed = field<int64_t>(body, "seed", p.seed);
  if (p.repeat_penalty <= 0) throw BadRequest("repeat_penalty must be positive");
  return p;
}

json timings_json(const CompletionResult& r) {
  return {{"prompt_n", r.prompt_n},
          {"prompt_ms", r.prompt_ms},
          {"prompt_per_token_ms", r.prompt_n ? r.prompt_ms / r.prompt_n : 0.0},
          {"prompt_per_second", r.prompt_ms > 0 ? r.prompt_n * 1000.0 / r.prompt_ms : 0.0},
          {"predicted_n", r.predicted_n},
          {"predicted_ms", r.predicted_ms},
          {"predicted_per_token_ms", r.predicted_n ? r.predicted_ms / r.predicted_n : 0.0},
          {"predicted_per_second", r.predicted_ms > 0 ? r.predicted_n * 1000.0 / r.predicted_ms : 0.0}};
}

}  // namespace mctr::infer
