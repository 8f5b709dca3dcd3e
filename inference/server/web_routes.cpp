// The chat page and what it reads besides the chat endpoint: the compiled-in files (web/),
// the chat history, the container panel, and the no-JavaScript form (/chat).
// These answer while the model loads (the page shows "loading" from /health meanwhile).
#include <httplib.h>

#include <cmath>
#include <map>

#include "server/chat_page.h"
#include "server/container_info.h"
#include "server/http_json.h"
#include "server/server.h"
#include "server/web_assets.h"

namespace mctr::infer {

const WebAsset* find_web_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (size_t i = 0; i < kWebAssetCount; i++)
    if (kWebAssets[i].path == path) return &kWebAssets[i];
  return nullptr;
}

namespace {
// The page loads nothing from elsewhere and runs no inline script: say so to the browser, so
// a message that slipped past the escaping could not run script or load from another host.
void set_page_headers(httplib::Response& res) {
  res.set_header(
      "Content-Security-Policy",
      "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
}

// A form field as a JSON number for sampling_from (which checks the ranges); empty: unset.
void put_number(json& body, const httplib::Request& req, const char* name, bool integer) {
  if (!req.has_param(name)) return;
  std::string v = req.get_param_value(name);
  if (v.empty()) return;
  auto bad = [&] { return BadRequest(std::string("'") + name + "' must be a number, not '" + v + "'"); };
  double d = 0;
  size_t used = 0;
  try {
    d = std::stod(v, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  // stod also reads "nan" and "inf", and a prefix such as "1x".
  if (used != v.size() || !std::isfinite(d)) throw bad();
  if (!integer) {
    body[name] = d;
  } else {
    if (d != std::floor(d) || std::fabs(d) > 9e15) throw bad();
    body[name] = static_cast<int64_t>(d);
  }
}
}  // namespace

void InferenceServer::web_routes() {
  auto asset = [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* a = find_web_asset(req.path);
    if (!a) return send_error(res, 404, "no such file");
    res.set_content(std::string(a->body), std::string(a->content_type));
    // The page is part of the binary: a new binary may bring a new page.
    res.set_header("Cache-Control", "no-cache");
    set_page_headers(res);
  };
  http_->Get("/", asset);
  for (size_t i = 0; i < kWebAssetCount; i++) http_->Get(std::string(kWebAssets[i].path), asset);

  http_->Get("/history",
             [this](const httplib::Request&, httplib::Response& res) { send_json(res, history_.to_json()); });
  http_->Delete("/history", [this](const httplib::Request&, httplib::Response& res) {
    std::string err = history_.clear();
    if (!err.empty()) return send_error(res, 500, err);
    send_json(res, history_.to_json());
  });
  http_->Get("/container", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, container_info_now(opt_.cgroup_root));
  });

  http_->Get("/chat", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_chat_page(history_.messages(), history_.load_warning(), {}),
                    "text/html; charset=utf-8");
  });
  // The form of the page without JavaScript: the reply comes back as a whole page, and so
  // does any error (in the page's error box, with the form still filled in).
  http_->Post("/chat", [this](const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> form;
    for (const char* k : {"prompt", "temperature", "top_k", "top_p", "n_predict", "seed"})
      if (req.has_param(k)) form[k] = req.get_param_value(k);
    std::string error;
    int status = 200;
    try {
      if (req.has_param("clear")) {
        error = history_.clear();
      } else if (state_ != State::Ready) {
        status = 503;
        error = state_ == State::Loading ? "The model is still loading: send again in a moment."
                                         : "The model failed to load: " + load_error();
      } else {
        std::string prompt = form["prompt"];
        if (prompt.find_first_not_of(" \t\r\n") == std::string::npos)
          throw BadRequest("the message is empty");
        json body = json::object();
        put_number(body, req, "temperature", false);
        put_number(body, req, "top_k", true);
        put_number(body, req, "top_p", false);
        put_number(body, req, "seed", true);
        put_number(body, req, "n_predict", true);
        // The conversation so far is the saved history: the form itself holds no state.
        json messages = json::array();
        for (auto& m : history_.messages())
          messages.push_back({{"role", m.value("role", "")}, {"content", m.value("content", "")}});
        messages.push_back({{"role", "user"}, {"content", prompt}});
        auto turn = prepare_chat(parse_chat_messages(messages), field<int>(body, "n_predict", 128), body);
        turn.save = true;
        run_chat(turn, nullptr, &error);
        form.erase("prompt");
      }
    } catch (const BadRequest& e) {
      status = 400;
      error = e.what();
    } catch (const std::exception& e) {
      status = 500;
      error = e.what();
    }
    res.status = status;
    set_page_headers(res);
    res.set_content(render_chat_page(history_.messages(), error, form), "text/html; charset=utf-8");
  });
}

}  // namespace mctr::infer
