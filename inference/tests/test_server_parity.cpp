// llama-server parity of the HTTP API, on loopback against a small synthetic model:
// /props, /slots, `tokens`/`return_tokens`/`generation_settings` in /completion, the default
// repeat penalty, n_predict 0 and -1, special tokens written in the prompt, /tokenize and
// /detokenize pieces, and a list of prompts on /v1/completions and /completion.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/synthetic.h"
#include "server/server.h"

namespace mctr::infer {
namespace {

using json = nlohmann::json;

class ParityTest : public ::testing::Test {
 protected:
  static constexpr int kCtx = 96;
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/minictr-infer-parity-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    SyntheticShape s;
    s.ctx_len = kCtx;
    write_synthetic_model(dir_ + "/m.gguf", s, GgmlType::Q8_0, 11);
    ServerOptions opt;
    opt.model_path = dir_ + "/m.gguf";
    opt.host = "127.0.0.1";
    opt.port = 0;
    opt.threads = 1;
    opt.parallel = 2;
    opt.metrics_log = dir_ + "/metrics.csv";
    opt.chat_history = dir_ + "/chat_history.json";
    server_ = new InferenceServer(opt);
    port_ = server_->start();
    ASSERT_TRUE(server_->wait_loaded()) << server_->load_error();
  }
  static void TearDownTestSuite() {
    delete server_;
    std::filesystem::remove_all(dir_);
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
    return json::parse(r->body, nullptr, false);
  }
  static json get(const std::string& path, int want_status = 200) {
    auto r = client().Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << path << " " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  static std::vector<json> sse_events(const std::string& body) {
    std::vector<json> out;
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("data: ", 0) == 0 && line != "data: [DONE]") out.push_back(json::parse(line.substr(6)));
    return out;
  }
  static std::vector<int> ids(const std::string& text, bool parse_special = true) {
    return post("/tokenize", {{"content", text}, {"parse_special", parse_special}})["tokens"];
  }

  static inline std::string dir_;
  static inline InferenceServer* server_ = nullptr;
  static inline int port_ = 0;
};

TEST_F(ParityTest, PropsShowTheDefaultsAndTheServer) {
  json p = get("/props");
  ASSERT_TRUE(p.contains("default_generation_settings")) << p;
  json d = p["default_generation_settings"];
  EXPECT_EQ(d["n_ctx"], kCtx);
  EXPECT_EQ(d["is_processing"], false);
  EXPECT_FLOAT_EQ(d["params"]["repeat_penalty"].get<float>(), 1.0f);
  EXPECT_EQ(d["params"]["n_predict"], -1);
  EXPECT_EQ(d["params"]["top_k"], 40);
  EXPECT_EQ(d["params"]["seed"], 4294967295u);
  EXPECT_EQ(p["total_slots"], 2);
  EXPECT_EQ(p["model_path"], dir_ + "/m.gguf");
  EXPECT_EQ(p["bos_token"], "<s>");
  EXPECT_EQ(p["eos_token"], "</s>");
}

TEST_F(ParityTest, SlotsShowWhatEachSlotRan) {
  json before = get("/slots");
  ASSERT_TRUE(before.is_array()) << before;
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0]["id"], 0);
  EXPECT_EQ(before[1]["id"], 1);
  json r = post("/completion", {{"prompt", "slot check"}, {"n_predict", 5}, {"top_k", 7}, {"seed", 42}});
  json after = get("/slots");
  ASSERT_EQ(after.size(), 2u);
  json s = after[r["id_slot"].get<int>()];
  EXPECT_EQ(s["is_processing"], false);
  EXPECT_EQ(s["n_ctx"], kCtx);
  EXPECT_EQ(s["params"]["top_k"], 7);
  EXPECT_EQ(s["params"]["seed"], 42);
  EXPECT_EQ(s["params"]["n_predict"], 5);
  EXPECT_EQ(s["next_token"]["n_decoded"], r["tokens_predicted"]);
  EXPECT_GE(s["id_task"].get<int>(), 0);
  // A slot is free, so fail_on_no_slot does not fail.
  get("/slots?fail_on_no_slot=1", 200);
}

TEST_F(ParityTest, ReturnTokensAndGenerationSettings) {
  json req = {{"prompt", "tokens back"}, {"n_predict", 12}, {"temperature", 0}, {"top_k", 3}};
  json plain = post("/completion", req);
  EXPECT_EQ(plain["tokens"], json::array());  // only with return_tokens, as llama.cpp
  json gs = plain["generation_settings"];
  EXPECT_EQ(gs["n_predict"], 12);
  EXPECT_EQ(gs["top_k"], 3);
  EXPECT_FLOAT_EQ(gs["temperature"].get<float>(), 0.0f);
  EXPECT_FLOAT_EQ(gs["repeat_penalty"].get<float>(), 1.0f);
  EXPECT_EQ(gs["n_ctx"], kCtx);

  req["return_tokens"] = true;
  json r = post("/completion", req);
  ASSERT_EQ(r["tokens"].size(), r["tokens_predicted"].get<size_t>());
  EXPECT_EQ(r["content"], plain["content"]);
  // The ids are the text: /detokenize gives the content back.
  EXPECT_EQ(post("/detokenize", {{"tokens", r["tokens"]}})["content"], r["content"]);

  // Streamed, every chunk carries the ids of its text.
  req["stream"] = true;
  auto s = client().Post("/completion", req.dump(), "application/json");
  ASSERT_TRUE(s);
  std::vector<int> streamed;
  for (auto& ev : sse_events(s->body))
    for (auto& t : ev["tokens"]) streamed.push_back(t);
  EXPECT_EQ(json(streamed), r["tokens"]);
}

TEST_F(ParityTest, DefaultRepeatPenaltyIsOneAsLlamaCpp) {
  json req = {{"prompt", "a a a a"}, {"n_predict", 40}, {"temperature", 0}};
  std::string by_default = post("/completion", req)["content"];
  req["repeat_penalty"] = 1.0;
  EXPECT_EQ(by_default, post("/completion", req)["content"].get<std::string>());
  // The old default gives other text on this prompt: the check above can tell them apart.
  req["repeat_penalty"] = 1.1;
  EXPECT_NE(by_default, post("/completion", req)["content"].get<std::string>());
}

TEST_F(ParityTest, NPredictZeroEvaluatesThePromptOnly) {
  json r = post("/completion", {{"prompt", "only the prompt here"}, {"n_predict", 0}});
  EXPECT_EQ(r["content"], "");
  EXPECT_EQ(r["tokens_predicted"], 0);
  int n_prompt = r["tokens_evaluated"];
  EXPECT_GT(n_prompt, 1);
  // The prompt is in the slot's cache now: the same prompt again evaluates only its last token.
  json again = post("/completion", {{"prompt", "only the prompt here"}, {"n_predict", 0}});
  EXPECT_EQ(again["tokens_cached"], n_prompt - 1);
}

TEST_F(ParityTest, NPredictMinusOneRunsToEosOrAFullContext) {
  json r = post("/completion",
                {{"prompt", "go on"}, {"n_predict", -1}, {"temperature", 0}, {"return_tokens", true}});
  int total = r["tokens_evaluated"].get<int>() + r["tokens_predicted"].get<int>();
  EXPECT_LE(total, kCtx);
  if (r["stop_type"] == "limit") {
    EXPECT_EQ(total, kCtx);
    EXPECT_EQ(r["truncated"], true);
  } else {
    EXPECT_EQ(r["stop_type"], "eos");
    EXPECT_EQ(r["truncated"], false);
  }
  // /v1/completions without max_tokens is the same (llama.cpp's default is -1, not 16).
  json o = post("/v1/completions", {{"prompt", "go on"}, {"temperature", 0}});
  EXPECT_EQ(o["choices"][0]["text"], r["content"]);
  EXPECT_EQ(o["usage"]["completion_tokens"], r["tokens_predicted"]);
}

TEST_F(ParityTest, SpecialTokensInThePromptTextAreParsed) {
  std::vector<int> a = ids("a");
  std::vector<int> want = {1};
  want.insert(want.end(), a.begin(), a.end());
  want.push_back(2);
  want.insert(want.end(), a.begin(), a.end());
  EXPECT_EQ(json(ids("<s>a</s>a")), json(want));
  // parse_special:false keeps them as text.
  for (int id : ids("<s>a</s>", false)) {
    EXPECT_NE(id, 1);
    EXPECT_NE(id, 2);
  }
  // /completion parses them in the prompt (and adds its BOS in front).
  json r = post("/completion", {{"prompt", "</s>a"}, {"n_predict", 1}, {"temperature", 0}});
  EXPECT_EQ(r["tokens_evaluated"], 2 + static_cast<int>(a.size()));
  EXPECT_EQ(r["prompt"], "<s></s> a");
  // Text mixed with ids: BOS only in front of leading text.
  json m = post("/completion", {{"prompt", {"a", 2, "a"}}, {"n_predict", 0}});
  EXPECT_EQ(m["tokens_evaluated"], 2 + 2 * static_cast<int>(a.size()));
  EXPECT_EQ(m["prompt"], "<s> a</s> a");
}

TEST_F(ParityTest, DetokenizeAndPiecesKeepSpacesAndSpecialTokens) {
  std::vector<int> hi = ids("hi");
  std::vector<int> with_bos = {1};
  with_bos.insert(with_bos.end(), hi.begin(), hi.end());
  EXPECT_EQ(post("/detokenize", {{"tokens", with_bos}})["content"], "<s> hi");
  json p = post("/tokenize", {{"content", "hi"}, {"add_special", true}, {"with_pieces", true}});
  ASSERT_GE(p["tokens"].size(), 2u);
  EXPECT_EQ(p["tokens"][0]["id"], 1);
  EXPECT_EQ(p["tokens"][0]["piece"], "<s>");
  EXPECT_EQ(p["tokens"][1]["piece"].get<std::string>()[0], ' ');
  // "é" is two byte tokens (the vocabulary has no piece for it): each piece is its byte.
  json b = post("/tokenize", {{"content", "\xc3\xa9"}, {"with_pieces", true}});
  ASSERT_GE(b["tokens"].size(), 2u);
  json last2 = {b["tokens"][b["tokens"].size() - 2]["piece"], b["tokens"].back()["piece"]};
  EXPECT_EQ(last2, json::parse("[[195],[169]]")) << b;
}

TEST_F(ParityTest, APromptListGivesOneResultPerPrompt) {
  json one_a = post("/v1/completions", {{"prompt", "first one"}, {"max_tokens", 4}, {"temperature", 0}});
  json one_b = post("/v1/completions", {{"prompt", "second"}, {"max_tokens", 4}, {"temperature", 0}});
  json both =
      post("/v1/completions", {{"prompt", {"first one", "second"}}, {"max_tokens", 4}, {"temperature", 0}});
  ASSERT_EQ(both["choices"].size(), 2u) << both;
  EXPECT_EQ(both["choices"][0]["index"], 0);
  EXPECT_EQ(both["choices"][1]["index"], 1);
  EXPECT_EQ(both["choices"][0]["text"], one_a["choices"][0]["text"]);
  EXPECT_EQ(both["choices"][1]["text"], one_b["choices"][0]["text"]);
  EXPECT_EQ(both["usage"]["completion_tokens"].get<int>(),
            one_a["usage"]["completion_tokens"].get<int>() + one_b["usage"]["completion_tokens"].get<int>());

  // Streamed: the chunks carry their prompt's index, and one [DONE] ends it all.
  auto s = client().Post(
      "/v1/completions",
      json({{"prompt", {"first one", "second"}}, {"max_tokens", 4}, {"temperature", 0}, {"stream", true}})
          .dump(),
      "application/json");
  ASSERT_TRUE(s);
  std::string text[2];
  for (auto& ev : sse_events(s->body)) text[ev["choices"][0]["index"].get<int>()] += ev["choices"][0]["text"];
  EXPECT_EQ(text[0], one_a["choices"][0]["text"]);
  EXPECT_EQ(text[1], one_b["choices"][0]["text"]);
  EXPECT_NE(s->body.find("data: [DONE]"), std::string::npos);

  // /completion answers a list with a list.
  json native =
      post("/completion", {{"prompt", {"first one", "second"}}, {"n_predict", 4}, {"temperature", 0}});
  ASSERT_TRUE(native.is_array()) << native;
  ASSERT_EQ(native.size(), 2u);
  EXPECT_EQ(native[1]["index"], 1);
  EXPECT_EQ(native[1]["content"], one_b["choices"][0]["text"]);
}

}  // namespace
}  // namespace mctr::infer
