#include "server/chat_history.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::infer {

using json = nlohmann::json;

namespace {
std::string dump_history(const json& messages) {
  return json{{"version", 1}, {"messages", messages}}.dump(1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

// Why `doc` is not a history we wrote, or "".
std::string invalid_history(const json& doc) {
  if (doc.is_discarded()) return "not valid JSON";
  if (!doc.is_object() || !doc.contains("messages") || !doc["messages"].is_array())
    return "no \"messages\" array";
  for (auto& m : doc["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return "a message without a string role and content";
    auto role = m["role"].get<std::string>();
    if (role != "user" && role != "assistant" && role != "system")
      return "a message with role '" + role + "'";
  }
  return "";
}
}  // namespace

void ChatHistory::load() {
  std::lock_guard lk(mu_);
  std::optional<std::string> text;
  std::string why;  // the file is there but unusable
  try {
    // A file far past the cap was not written by us: not worth reading into memory.
    std::error_code ec;
    auto size = std::filesystem::file_size(path_, ec);
    if (!ec && size > 16 * max_bytes_)
      why = std::to_string(size) + " bytes, more than 16 times the cap";
    else
      text = fs::read_file_if_exists(path_);
  } catch (const std::exception& e) {
    load_warning_ = std::string("cannot read the chat history: ") + e.what();
  }
  if (text) {
    json doc = json::parse(*text, nullptr, false);
    why = invalid_history(doc);
    if (why.empty()) {
      messages_ = doc["messages"];
      cap_locked();
    }
  }
  if (!why.empty()) {
    std::string aside = path_ + ".bad";
    std::error_code ec;
    std::filesystem::rename(path_, aside, ec);
    load_warning_ = "chat history " + path_ + " is unusable (" + why + "); " +
                    (ec ? "could not move it aside: " + ec.message() : "moved to " + aside) +
                    ", starting with an empty history";
  }
  if (!load_warning_.empty()) std::fprintf(stderr, "minictr-infer: warning: %s\n", load_warning_.c_str());
}

std::string ChatHistory::load_warning() const {
  std::lock_guard lk(mu_);
  return load_warning_;
}

json ChatHistory::messages() const {
  std::lock_guard lk(mu_);
  return messages_;
}

json ChatHistory::to_json() const {
  std::lock_guard lk(mu_);
  json j = {
      {"path", path_}, {"max_messages", max_messages_}, {"max_bytes", max_bytes_}, {"messages", messages_}};
  if (!load_warning_.empty()) j["warning"] = load_warning_;
  return j;
}

void ChatHistory::cap_locked() {
  if (messages_.size() > max_messages_)
    messages_.erase(messages_.begin(),
                    messages_.begin() + static_cast<std::ptrdiff_t>(messages_.size() - max_messages_));
  // Drop the oldest until the file fits; the messages' own sizes are capped far below max_bytes.
  size_t bytes = dump_history(messages_).size();
  while (bytes > max_bytes_ && !messages_.empty()) {
    bytes -= std::min(bytes, messages_.front().dump(1, ' ', false, json::error_handler_t::replace).size());
    messages_.erase(messages_.begin());
    if (bytes <= max_bytes_) bytes = dump_history(messages_).size();  // exact, before stopping
  }
}

std::string ChatHistory::save_locked() {
  try {
    // write_file_atomic: temp file, fsync, rename. The rename itself is only durable once
    // the directory is synced too (else a power cut may bring back the old history).
    fs::write_file_atomic(path_, dump_history(messages_), 0644, /*durable=*/true);
    std::string dir = std::filesystem::path(path_).parent_path();
    UniqueFd dfd(
        check_sys(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", dir));
    check_sys(::fsync(dfd.get()), "fsync", dir);
    return "";
  } catch (const std::exception& e) {
    std::string msg = std::string("cannot save the chat history: ") + e.what();
    std::fprintf(stderr, "minictr-infer: warning: %s\n", msg.c_str());
    return msg;
  }
}

std::string ChatHistory::append(const std::vector<json>& entries) {
  std::lock_guard lk(mu_);
  for (auto& e : entries) messages_.push_back(e);
  cap_locked();
  return save_locked();
}

std::string ChatHistory::clear() {
  std::lock_guard lk(mu_);
  messages_ = json::array();
  return save_locked();
}

}  // namespace mctr::infer
