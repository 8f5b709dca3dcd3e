// The chat template for models without one of their own (the bundled model was trained on
// plain text): a transcript the model can continue.
//
//   <system text>\n\n            (only when there is a system message)
//   User: <text>\n
//   Assistant: <text>\n
//   User: <text>\n
//   Assistant:
//
// Generation stops at the next "User:" turn (kChatStops). When the conversation does not fit
// the context, the oldest turns are dropped (the system message and the last user message
// always stay; if those alone do not fit, the request is refused).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/http_json.h"

namespace mctr::infer {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// A single message larger than this is refused with a clear 400 (the context holds far less).
inline constexpr size_t kChatMessageMaxBytes = 64 * 1024;
inline constexpr size_t kChatMaxMessages = 1000;

// Stop strings that end the assistant's turn.
const std::vector<std::string>& chat_stops();

// OpenAI's `messages`: an array of {role, content} with the last one from the user.
// `content` may also be an array of {type:"text", text} parts. Throws BadRequest.
std::vector<ChatMessage> parse_chat_messages(const json& messages);

// The prompt text for `messages` (which end with a user message).
std::string render_chat(const std::vector<ChatMessage>& messages);

// Drops the oldest turns until `fits(render_chat(kept))` holds. Throws BadRequest when even
// the system message and the last user message do not fit; `n_dropped` tells how many went.
std::string render_chat_fitting(std::vector<ChatMessage> messages,
                                const std::function<bool(const std::string&)>& fits, int* n_dropped);

}  // namespace mctr::infer
