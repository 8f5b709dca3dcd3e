#include "server/chat_page.h"

#include <cstdio>

namespace mctr::infer {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {
std::string value_of(const std::map<std::string, std::string>& form, const std::string& key,
                     const char* fallback) {
  auto it = form.find(key);
  return html_escape(it != form.end() ? it->second : fallback);
}

std::string number_input(const std::map<std::string, std::string>& form, const char* name, const char* label,
                         const char* fallback, const char* attrs) {
  return std::string("<label>") + label + " <input type=\"number\" name=\"" + name + "\" value=\"" +
         value_of(form, name, fallback) + "\" " + attrs + "></label>\n";
}

std::string message_html(const nlohmann::json& m) {
  std::string role = m.value("role", "");
  std::string content = m.value("content", "");
  std::string html = "<div class=\"msg " + html_escape(role) + "\"><div class=\"who\">" +
                     (role == "user" ? "You" : "Model") + "</div><div class=\"text\">" +
                     html_escape(content) + "</div>";
  if (role == "assistant" && m.contains("tokens_per_second") && m["tokens_per_second"].is_number()) {
    char stats[128];
    std::snprintf(stats, sizeof stats, "%d tokens &middot; %.1f tokens/s &middot; %.0f ms",
                  m.value("tokens", 0), m["tokens_per_second"].get<double>(), m.value("latency_ms", 0.0));
    html += std::string("<div class=\"stats\">") + stats + "</div>";
  }
  return html + "</div>\n";
}
}  // namespace

std::string render_chat_page(const nlohmann::json& messages, const std::string& error,
                             const std::map<std::string, std::string>& form) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>minictr storyteller</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\n"
      "<body><main><header><h1>minictr storyteller</h1>"
      "<p class=\"sub\">plain HTML (no JavaScript) &middot; <a href=\"/\">the page</a></p></header>\n"
      "<section id=\"messages\" class=\"messages\">\n";
  if (messages.empty()) html += "<p class=\"empty\">No messages yet.</p>\n";
  for (auto& m : messages) html += message_html(m);
  html += "</section>\n";
  if (!error.empty())
    html += "<div id=\"error\" class=\"error\" role=\"alert\">" + html_escape(error) + "</div>\n";
  html +=
      "<form id=\"chat-form\" method=\"post\" action=\"/chat\">\n"
      "<textarea id=\"prompt\" name=\"prompt\" rows=\"3\" placeholder=\"Once upon a time\" required>" +
      value_of(form, "prompt", "") +
      "</textarea>\n<div class=\"row\"><button id=\"send\" type=\"submit\">Send</button></div>\n"
      "<details class=\"settings\"><summary>Settings</summary><div class=\"grid\">\n" +
      number_input(form, "temperature", "temperature", "0.8", "min=\"0\" max=\"5\" step=\"0.05\"") +
      number_input(form, "top_k", "top-k", "40", "min=\"0\" max=\"1000\" step=\"1\"") +
      number_input(form, "top_p", "top-p", "0.95", "min=\"0\" max=\"1\" step=\"0.01\"") +
      number_input(form, "n_predict", "max tokens", "128", "min=\"1\" max=\"4096\" step=\"1\"") +
      number_input(form, "seed", "seed", "", "min=\"-1\" step=\"1\" placeholder=\"random\"") +
      "</div></details>\n</form>\n"
      "<form method=\"post\" action=\"/chat\"><input type=\"hidden\" name=\"clear\" value=\"1\">"
      "<button class=\"secondary\" type=\"submit\">Clear history</button></form>\n"
      "</main></body></html>\n";
  return html;
}

}  // namespace mctr::infer
