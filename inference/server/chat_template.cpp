#include "server/chat_template.h"

#include <algorithm>
#include <functional>

namespace mctr::infer {

const std::vector<std::string>& chat_stops() {
  static const std::vector<std::string> stops = {"\nUser:", "User:"};
  return stops;
}

namespace {
std::string content_text(const json& c, size_t index) {
  std::string where = "messages[" + std::to_string(index) + "].content";
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) throw BadRequest("'" + where + "' must be a string or an array of text parts");
  std::string text;
  for (auto& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      throw BadRequest("'" + where +
                       "' parts must be {\"type\":\"text\",\"text\":...} (only text is supported)");
    text += part["text"].get<std::string>();
  }
  return text;
}
}  // namespace

std::vector<ChatMessage> parse_chat_messages(const json& messages) {
  if (!messages.is_array()) throw BadRequest("missing 'messages' (an array of {role, content})");
  if (messages.empty()) throw BadRequest("'messages' is empty");
  if (messages.size() > kChatMaxMessages)
    throw BadRequest("'messages' has " + std::to_string(messages.size()) + " entries, the limit is " +
                     std::to_string(kChatMaxMessages));
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); i++) {
    const json& m = messages[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw BadRequest("'" + at + "' must be an object {role, content}");
    if (!m.contains("role") || !m["role"].is_string()) throw BadRequest("'" + at + ".role' must be a string");
    ChatMessage msg{m["role"].get<std::string>(), ""};
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      throw BadRequest("'" + at + ".role' must be system, user or assistant, not '" + msg.role + "'");
    if (!m.contains("content") || m["content"].is_null()) throw BadRequest("'" + at + ".content' is missing");
    msg.content = content_text(m["content"], i);
    if (msg.content.size() > kChatMessageMaxBytes)
      throw BadRequest("'" + at + ".content' is " + std::to_string(msg.content.size()) +
                       " bytes, the limit is " + std::to_string(kChatMessageMaxBytes));
    out.push_back(std::move(msg));
  }
  if (out.back().role != "user") throw BadRequest("the last message must have role 'user'");
  return out;
}

std::string render_chat(const std::vector<ChatMessage>& messages) {
  std::string system, turns;
  for (auto& m : messages) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n") + m.content;
    } else {
      turns += (m.role == "user" ? "User: " : "Assistant: ") + m.content + "\n";
    }
  }
  return (system.empty() ? "" : system + "\n\n") + turns + "Assistant:";
}

std::string render_chat_fitting(std::vector<ChatMessage> messages,
                                const std::function<bool(const std::string&)>& fits, int* n_dropped) {
  int dropped = 0;
  for (;;) {
    std::string text = render_chat(messages);
    if (fits(text)) {
      if (n_dropped) *n_dropped = dropped;
      return text;
    }
    // The oldest turn that is neither a system message nor the last (user) message; an
    // assistant turn left first goes too, so the transcript still starts with the user.
    auto not_system = [](auto& m) { return m.role != "system"; };
    auto oldest = std::find_if(messages.begin(), messages.end() - 1, not_system);
    if (oldest == messages.end() - 1)
      throw BadRequest("the message does not fit the model's context: shorten it or lower max_tokens");
    messages.erase(oldest);
    dropped++;
    oldest = std::find_if(messages.begin(), messages.end() - 1, not_system);
    if (oldest != messages.end() - 1 && oldest->role == "assistant") {
      messages.erase(oldest);
      dropped++;
    }
  }
}

}  // namespace mctr::infer
