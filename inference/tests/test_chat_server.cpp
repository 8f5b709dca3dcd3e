// The chat endpoints end to end on loopback: /v1/chat/completions (plain and streamed), the
// page's files, /history (and its file surviving a restart), /container, the no-JS /chat form,
// and the JSON errors the page shows for bad or huge input.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/synthetic.h"
#include "server/server.h"

namespace mctr::infer {
namespace {

using json = nlohmann::json;

class ChatServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/minictr-infer-chat-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    SyntheticShape s;
    s.ctx_len = 96;
    write_synthetic_model(dir_ + "/m.gguf", s, GgmlType::Q8_0, 11);
    server_ = new InferenceServer(options());
    port_ = server_->start();
    ASSERT_TRUE(server_->wait_loaded()) << server_->load_error();
  }
  static void TearDownTestSuite() {
    delete server_;
    std::filesystem::remove_all(dir_);
  }
  static ServerOptions options() {
    ServerOptions opt;
    opt.model_path = dir_ + "/m.gguf";
    opt.host = "127.0.0.1";
    opt.port = 0;
    opt.threads = 2;
    opt.parallel = 2;
    opt.metrics_log = dir_ + "/metrics.csv";
    opt.chat_history = dir_ + "/chat_history.json";
    return opt;
  }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  static json post(const std::string& path, const json& body, int want_status = 200) {
    auto r = client().Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << path << " " << r->body;
    EXPECT_NE(r->get_header_value("Content-Type").find("application/json"), std::string::npos);
    return json::parse(r->body, nullptr, false);
  }
  static json history() {
    auto r = client().Get("/history");
    EXPECT_TRUE(r && r->status == 200);
    return r ? json::parse(r->body) : json();
  }
  static void clear_history() {
    auto r = client().Delete("/history");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  static json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

  static inline std::string dir_;
  static inline InferenceServer* server_ = nullptr;
  static inline int port_ = 0;
};

TEST_F(ChatServerTest, ServesTheEmbeddedPage) {
  for (const char* path : {"/", "/index.html"}) {
    auto r = client().Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
    EXPECT_NE(r->body.find("<form id=\"chat-form\" method=\"post\" action=\"/chat\">"), std::string::npos);
    EXPECT_NE(r->body.find("<script src=\"/app.js\">"), std::string::npos);
    EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
    // Nothing from another host: no CDN.
    EXPECT_EQ(r->body.find("http"), std::string::npos);
  }
  auto js = client().Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_NE(js->get_header_value("Content-Type").find("javascript"), std::string::npos);
  EXPECT_NE(js->body.find("/v1/chat/completions"), std::string::npos);
  auto css = client().Get("/style.css");
  ASSERT_TRUE(css);
  EXPECT_NE(css->get_header_value("Content-Type").find("text/css"), std::string::npos);
  auto missing = client().Get("/nope.html");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], 404);
}

TEST_F(ChatServerTest, ChatCompletionInOpenAIFormat) {
  json r = post("/v1/chat/completions", {{"messages", user("hello")}, {"max_tokens", 8}, {"temperature", 0}});
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(r["choices"][0]["message"]["content"].is_string());
  EXPECT_TRUE(r["choices"][0]["finish_reason"] == "length" || r["choices"][0]["finish_reason"] == "stop");
  EXPECT_LE(r["usage"]["completion_tokens"].get<int>(), 8);
  EXPECT_GT(r["usage"]["prompt_tokens"].get<int>(), 3);
  EXPECT_EQ(r["usage"]["total_tokens"].get<int>(),
            r["usage"]["prompt_tokens"].get<int>() + r["usage"]["completion_tokens"].get<int>());
  EXPECT_TRUE(r["timings"].contains("predicted_per_second"));
}

TEST_F(ChatServerTest, StreamedChatMatchesThePlainOne) {
  json req = {{"messages", user("the quick")}, {"max_tokens", 10}, {"temperature", 0}};
  json plain = post("/v1/chat/completions", req);
  req["stream"] = true;
  auto r = client().Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  std::vector<std::string> events;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("data: ", 0) == 0) events.push_back(line.substr(6));
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  json first = json::parse(events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  int pieces = 0;
  for (size_t i = 1; i + 2 < events.size(); i++) {
    json e = json::parse(events[i]);
    EXPECT_TRUE(e["choices"][0]["finish_reason"].is_null());
    text += e["choices"][0]["delta"]["content"].get<std::string>();
    pieces++;
  }
  json last = json::parse(events[events.size() - 2]);
  EXPECT_FALSE(last["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(last["usage"], plain["usage"]);
  // The whitespace after "Assistant:" is not part of the reply, streamed or not.
  EXPECT_EQ(text, plain["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_GT(pieces, 1) << "streamed in one piece";
}

TEST_F(ChatServerTest, SavedExchangesLandInTheHistoryFileAndSurviveARestart) {
  clear_history();
  json r = post("/v1/chat/completions", {{"messages", user("once upon a time")},
                                         {"max_tokens", 6},
                                         {"temperature", 0},
                                         {"save_history", true}});
  EXPECT_FALSE(r.contains("history_error"));
  post("/v1/chat/completions", {{"messages", user("not saved")}, {"max_tokens", 2}});
  json h = history();
  ASSERT_EQ(h["messages"].size(), 2u) << h.dump();
  EXPECT_EQ(h["messages"][0]["role"], "user");
  EXPECT_EQ(h["messages"][0]["content"], "once upon a time");
  EXPECT_EQ(h["messages"][1]["role"], "assistant");
  EXPECT_EQ(h["messages"][1]["content"], r["choices"][0]["message"]["content"]);
  EXPECT_TRUE(h["messages"][1].contains("tokens_per_second"));
  EXPECT_EQ(h["path"], dir_ + "/chat_history.json");

  std::ifstream f(dir_ + "/chat_history.json");
  json file = json::parse(f);
  EXPECT_EQ(file["messages"], h["messages"]);

  // A second server on the same file starts with the same history.
  ServerOptions opt = options();
  InferenceServer second(opt);
  int port = second.start();
  httplib::Client c("127.0.0.1", port);
  auto again = c.Get("/history");
  ASSERT_TRUE(again);
  EXPECT_EQ(json::parse(again->body)["messages"], h["messages"]);
  second.stop();

  clear_history();
  EXPECT_EQ(history()["messages"].size(), 0u);
  std::ifstream g(dir_ + "/chat_history.json");
  EXPECT_EQ(json::parse(g)["messages"].size(), 0u);
}

TEST_F(ChatServerTest, LongConversationsDropTheOldestTurns) {
  json msgs = json::array();
  for (int i = 0; i < 12; i++) {
    msgs.push_back({{"role", "user"}, {"content", "tell me about the number " + std::to_string(i)}});
    msgs.push_back({{"role", "assistant"}, {"content", "it is a fine number"}});
  }
  msgs.push_back({{"role", "user"}, {"content", "and then?"}});
  json r = post("/v1/chat/completions", {{"messages", msgs}, {"max_tokens", 8}});
  EXPECT_GT(r["dropped_messages"].get<int>(), 0);
  EXPECT_LE(r["usage"]["prompt_tokens"].get<int>() + 8, 96);
}

TEST_F(ChatServerTest, BadOrHugeInputGetsAJsonErrorWithAClearMessage) {
  auto message = [](const json& r) { return r["error"]["message"].get<std::string>(); };
  EXPECT_NE(message(post("/v1/chat/completions", {{"max_tokens", 4}}, 400)).find("missing 'messages'"),
            std::string::npos);
  EXPECT_NE(message(post("/v1/chat/completions", {{"messages", user("x")}, {"max_tokens", 500}}, 400))
                .find("exceeds the context size (96)"),
            std::string::npos);
  EXPECT_NE(message(post("/v1/chat/completions", {{"messages", user(std::string(70000, 'a'))}}, 400))
                .find("the limit is 65536"),
            std::string::npos);
  // Fits the byte limit but not the context.
  std::string words;
  for (int i = 0; i < 400; i++) words += "lorem ipsum ";
  EXPECT_NE(message(post("/v1/chat/completions", {{"messages", user(words)}, {"max_tokens", 8}}, 400))
                .find("does not fit the model's context"),
            std::string::npos);
  EXPECT_NE(message(post("/v1/chat/completions", {{"messages", user("x")}, {"temperature", "hot"}}, 400))
                .find("'temperature'"),
            std::string::npos);
  // Past the 8 MiB body limit httplib answers 413 itself: with a JSON body too.
  auto big = client().Post("/v1/chat/completions", std::string(9 << 20, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(json::parse(big->body)["error"]["message"].get<std::string>().find("too large"),
            std::string::npos);
}

TEST_F(ChatServerTest, TheFormWithoutJavaScriptAnswersWithAWholePage) {
  clear_history();
  auto c = client();
  auto r = c.Post("/chat", "prompt=Once+upon+a+time&temperature=0&n_predict=6",
                  "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(
      r->body.find(
          "<div class=\"msg user\"><div class=\"who\">You</div><div class=\"text\">Once upon a time</div>"),
      std::string::npos);
  EXPECT_NE(r->body.find("<div class=\"msg assistant\">"), std::string::npos);
  EXPECT_NE(r->body.find("</html>"), std::string::npos);
  EXPECT_EQ(history()["messages"].size(), 2u);

  auto bad = c.Post("/chat", "prompt=hi&temperature=warm", "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("class=\"error\""), std::string::npos);
  EXPECT_NE(bad->body.find("&#39;temperature&#39; must be a number"), std::string::npos);
  EXPECT_NE(bad->body.find(">hi</textarea>"), std::string::npos) << "the prompt is kept for another try";
  EXPECT_NE(bad->body.find("</html>"), std::string::npos);

  for (const char* body : {"prompt=hi&top_p=nan", "prompt=hi&seed=1.5", "prompt=hi&n_predict=1e300"}) {
    auto r = c.Post("/chat", body, "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_NE(r->body.find("must be a number"), std::string::npos) << body;
  }
  auto too_long = c.Post("/chat", "prompt=hi&n_predict=500", "application/x-www-form-urlencoded");
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 400);
  EXPECT_NE(too_long->body.find("exceeds the context size (96)"), std::string::npos);

  auto empty = c.Post("/chat", "prompt=+", "application/x-www-form-urlencoded");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  EXPECT_NE(empty->body.find("the message is empty"), std::string::npos);

  auto cleared = c.Post("/chat", "clear=1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->status, 200);
  EXPECT_EQ(history()["messages"].size(), 0u);
}

TEST_F(ChatServerTest, ModelsListsTheOneModel) {
  auto r = client().Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], dir_ + "/m.gguf");
  EXPECT_EQ(j["data"][0]["meta"]["n_ctx"], 96);
}

TEST_F(ChatServerTest, ContainerEndpointAnswersJson) {
  auto r = client().Get("/container");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  json j = json::parse(r->body);
  EXPECT_TRUE(j["in_container"].is_boolean());
  EXPECT_TRUE(j["message"].is_string());
}

}  // namespace
}  // namespace mctr::infer
