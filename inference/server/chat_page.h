// The chat page rendered on the server, for browsers without JavaScript: GET /chat shows the
// history and the form, POST /chat (the form) answers with the same page after the reply.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace mctr::infer {

std::string html_escape(const std::string& s);

// A whole HTML page: the messages of the history, an error box when `error` is not empty,
// and the form with `form` values ("prompt", "temperature", ...) filled in.
std::string render_chat_page(const nlohmann::json& messages, const std::string& error,
                             const std::map<std::string, std::string>& form);

}  // namespace mctr::infer
