// JSON helpers shared by the HTTP routes: error bodies, typed request fields, sampling
// parameters, server-sent events. Bad input throws BadRequest, which the routes answer
// with 400 and {"error":{"code":400,"message":...,"type":"invalid_request_error"}}.
#pragma once

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "model/sampler.h"
#include "server/engine.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace mctr::infer {

using json = nlohmann::json;

// A client mistake: answered with 400 and the message.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Invalid UTF-8 (a byte token cut mid-character) must not make dump() throw.
std::string dump(const json& j);
json error_json(int status, const std::string& msg);
void send_json(httplib::Response& res, const json& j, int status = 200);
void send_error(httplib::Response& res, int status, const std::string& msg);
json parse_body(const httplib::Request& req);
std::string sse(const json& j);

// Reads an optional field, checking its JSON type (a string where a number belongs is a 400).
template <typename T>
T field(const json& body, const char* key, T fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  auto wrong = [&] { return BadRequest(std::string("field '") + key + "' has the wrong type or range"); };
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) throw wrong();
    return it->template get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    // Integers may arrive as 5 or 5.0; anything else, or out of range, is a client error.
    if (!it->is_number()) throw wrong();
    double d = it->template get<double>();
    if (!(d >= static_cast<double>(std::numeric_limits<T>::min()) &&
          d < static_cast<double>(std::numeric_limits<T>::max())) ||
        d != std::floor(d))
      throw wrong();
    return it->is_number_integer() ? it->template get<T>() : static_cast<T>(d);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!it->is_number()) throw wrong();
    return it->template get<T>();
  } else {
    if (!it->is_string()) throw wrong();
    return it->template get<T>();
  }
}

std::vector<std::string> stop_strings(const json& body);
SamplingParams sampling_from(const json& body);
json timings_json(const CompletionResult& r);

}  // namespace mctr::infer
