// The HTTP API end to end on loopback: the server runs in-process on an ephemeral port and
// is driven with cpp-httplib's client.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "model/synthetic.h"
#include "server/server.h"

namespace mctr::infer {
namespace {

using json = nlohmann::json;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/minictr-infer-srv-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    SyntheticShape s;
    s.ctx_len = 96;
    write_synthetic_model(dir_ + "/m.gguf", s, GgmlType::Q8_0, 11);
    ServerOptions opt;
    opt.model_path = dir_ + "/m.gguf";
    opt.host = "127.0.0.1";
    opt.port = 0;
    opt.threads = 2;
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
    auto c = client();
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << path << " " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // The `data: {...}` events of a server-sent-event stream.
  static std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> out;
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
    return out;
  }

  static inline std::string dir_;
  static inline InferenceServer* server_ = nullptr;
  static inline int port_ = 0;
};

TEST_F(ServerTest, HealthIsOk) {
  auto r = client().Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
}

TEST_F(ServerTest, GreedyCompletionHasTimings) {
  json r = post("/completion", {{"prompt", "hello world"}, {"n_predict", 8}, {"temperature", 0}});
  EXPECT_TRUE(r["stop"].get<bool>());
  EXPECT_LE(r["tokens_predicted"].get<int>(), 8);
  EXPECT_TRUE(r["stop_type"] == "limit" || r["stop_type"] == "eos");
  EXPECT_GT(r["tokens_evaluated"].get<int>(), 1);
  for (auto k : {"prompt_n", "prompt_ms", "predicted_n", "predicted_ms", "predicted_per_second"})
    EXPECT_TRUE(r["timings"].contains(k)) << k;
  EXPECT_EQ(r["timings"]["predicted_n"], r["tokens_predicted"]);
  // Greedy is deterministic, also when the slot reuses its cached prompt.
  json again = post("/completion", {{"prompt", "hello world"}, {"n_predict", 8}, {"temperature", 0}});
  EXPECT_EQ(again["content"], r["content"]);
}

TEST_F(ServerTest, SeedMakesSamplingReproducible) {
  json req = {{"prompt", "abc"}, {"n_predict", 12}, {"temperature", 1.0}, {"seed", 1234},
              {"top_k", 0},      {"top_p", 1.0},    {"min_p", 0.0}};
  EXPECT_EQ(post("/completion", req)["content"], post("/completion", req)["content"]);
}

TEST_F(ServerTest, StreamingMatchesNonStreaming) {
  json req = {{"prompt", "the quick"}, {"n_predict", 10}, {"temperature", 0}};
  json plain = post("/completion", req);
  req["stream"] = true;
  auto r = client().Post("/completion", req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  auto events = sse_events(r->body);
  ASSERT_GE(events.size(), 1u);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); i++) {
    json e = json::parse(events[i]);
    EXPECT_FALSE(e["stop"].get<bool>());
    text += e["content"].get<std::string>();
  }
  json last = json::parse(events.back());
  EXPECT_TRUE(last["stop"].get<bool>());
  EXPECT_EQ(last["timings"]["predicted_n"], plain["tokens_predicted"]);
  EXPECT_EQ(text, plain["content"]);
}

TEST_F(ServerTest, StopStringEndsGeneration) {
  json plain = post("/completion",
                    {{"prompt", "x y"}, {"n_predict", 20}, {"temperature", 0}, {"repeat_penalty", 1.0}});
  std::string full = plain["content"];
  ASSERT_GE(full.size(), 6u) << full;
  std::string stop = full.substr(4, 2);
  for (bool stream : {false, true}) {
    auto r = client().Post("/completion",
                           json({{"prompt", "x y"},
                                 {"n_predict", 20},
                                 {"temperature", 0},
                                 {"repeat_penalty", 1.0},
                                 {"stop", {stop}},
                                 {"stream", stream}})
                               .dump(),
                           "application/json");
    ASSERT_TRUE(r);
    std::string text;
    json last;
    if (stream) {
      for (auto& e : sse_events(r->body)) {
        last = json::parse(e);
        text += last["content"].get<std::string>();
      }
    } else {
      last = json::parse(r->body);
      text = last["content"];
    }
    EXPECT_EQ(text, full.substr(0, full.find(stop))) << "stream=" << stream;
    EXPECT_EQ(last["stop_type"], "word");
    EXPECT_EQ(last["stopping_word"], stop);
  }
}

TEST_F(ServerTest, BadRequestsGet400WithJsonError) {
  auto c = client();
  auto expect_400 = [&](const std::string& path, const std::string& body, const std::string& needle) {
    auto r = c.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->status, 400) << body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_EQ(j["error"]["code"], 400);
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << r->body;
  };
  expect_400("/completion", "{not json", "not valid JSON");
  expect_400("/completion", "[1,2]", "JSON object");
  expect_400("/completion", R"({"n_predict": 4})", "missing 'prompt'");
  expect_400("/completion", R"({"prompt": 5})", "'prompt'");
  expect_400("/completion", R"({"prompt": "a", "n_predict": 100000})", "exceeds the context");
  expect_400("/completion", R"({"prompt": "a b c", "n_predict": 95})", "exceeds the context");
  expect_400("/completion", R"({"prompt": "a", "temperature": "hot"})", "temperature");
  expect_400("/completion", R"({"prompt": [1, 99999]})", "token ids");
  expect_400("/completion", R"({"prompt": "a", "n_predict": 1e30})", "range");
  expect_400("/completion", R"({"prompt": "a", "seed": 1.5})", "seed");
  expect_400("/completion", R"({"prompt": "a", "stop": [1]})", "stop");
  std::string long_prompt(400, 'q');
  expect_400("/completion", json({{"prompt", long_prompt}}).dump(), "context holds");
  expect_400("/v1/completions", R"({"prompt": "a", "max_tokens": 5000})", "exceeds the context");
  expect_400("/v1/completions", "", "not valid JSON");
  expect_400("/detokenize", R"({"tokens": ["x"]})", "token ids");
  expect_400("/detokenize", R"({"tokens": [-1]})", "out of range");
  // And the server is still fine.
  EXPECT_EQ(c.Get("/health")->status, 200);
}

TEST_F(ServerTest, TokenizeDetokenizeRoundTrip) {
  json t = post("/tokenize", {{"content", "hello world"}});
  ASSERT_TRUE(t["tokens"].is_array());
  EXPECT_FALSE(t["tokens"].empty());
  json with_bos = post("/tokenize", {{"content", "hello world"}, {"add_special", true}});
  EXPECT_EQ(with_bos["tokens"][0], 1);
  json d = post("/detokenize", {{"tokens", t["tokens"]}});
  EXPECT_EQ(d["content"], " hello world");  // llama.cpp keeps the SentencePiece space
  json pieces = post("/tokenize", {{"content", "ab"}, {"with_pieces", true}});
  EXPECT_TRUE(pieces["tokens"][0].contains("piece"));
}

TEST_F(ServerTest, OpenAICompletions) {
  json r = post("/v1/completions", {{"model", "x"}, {"prompt", "hi"}, {"max_tokens", 5}, {"temperature", 0}});
  EXPECT_EQ(r["object"], "text_completion");
  ASSERT_EQ(r["choices"].size(), 1u);
  EXPECT_TRUE(r["choices"][0]["text"].is_string());
  EXPECT_LE(r["usage"]["completion_tokens"].get<int>(), 5);
  EXPECT_EQ(r["usage"]["total_tokens"].get<int>(),
            r["usage"]["prompt_tokens"].get<int>() + r["usage"]["completion_tokens"].get<int>());
  auto s =
      client().Post("/v1/completions",
                    json({{"prompt", "hi"}, {"max_tokens", 5}, {"temperature", 0}, {"stream", true}}).dump(),
                    "application/json");
  ASSERT_TRUE(s);
  auto events = sse_events(s->body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); i++)
    text += json::parse(events[i])["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, r["choices"][0]["text"]);
}

TEST_F(ServerTest, ConcurrentRequestsAllSucceed) {
  json req = {{"prompt", "same prompt"}, {"n_predict", 16}, {"temperature", 0}};
  std::string want = post("/completion", req)["content"];
  std::vector<std::thread> ts;
  std::vector<std::string> got(5);
  std::vector<int> status(5, 0);
  for (int i = 0; i < 5; i++)
    ts.emplace_back([&, i] {
      auto c = client();
      json body = req;
      if (i % 2) body["stream"] = true;
      auto r = c.Post("/completion", body.dump(), "application/json");
      if (!r) return;
      status[i] = r->status;
      if (i % 2) {
        for (auto& e : sse_events(r->body)) got[i] += json::parse(e)["content"].get<std::string>();
      } else {
        got[i] = json::parse(r->body)["content"];
      }
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(status[i], 200) << i;
    EXPECT_EQ(got[i], want) << i;
  }
}

TEST_F(ServerTest, MetricsEndpointCounts) {
  auto before = client().Get("/metrics");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  EXPECT_NE(before->body.find("# TYPE llamacpp:tokens_predicted_total counter"), std::string::npos);
  auto value = [](const std::string& body, const std::string& name) {
    auto at = body.find("\nllamacpp:" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + name.size() + 11));
  };
  double b = value(before->body, "tokens_predicted_total");
  json r = post("/completion", {{"prompt", "count me"}, {"n_predict", 4}, {"temperature", 0}});
  auto after = client().Get("/metrics");
  EXPECT_EQ(value(after->body, "tokens_predicted_total"), b + r["tokens_predicted"].get<int>());
  EXPECT_EQ(value(after->body, "requests_processing"), 0);
}

TEST_F(ServerTest, MetricsCsvHasOneRowPerRequest) {
  std::string path = dir_ + "/metrics.csv";
  auto count_lines = [&] {
    std::ifstream in(path);
    int n = 0;
    std::string line;
    while (std::getline(in, line)) n++;
    return n;
  };
  post("/completion", {{"prompt", "csv, \"quoted\""}, {"n_predict", 2}, {"temperature", 0}});
  int before = count_lines();
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; i++)
    ts.emplace_back(
        [&] { client().Post("/completion", R"({"prompt":"p","n_predict":2})", "application/json"); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(count_lines(), before + 4);
  std::ifstream in(path);
  std::string header, line, last_quoted;
  std::getline(in, header);
  EXPECT_EQ(header, "latency_ms,prompt_tokens,generated_tokens,tokens_per_second,prompt,timestamp");
  while (std::getline(in, line)) {
    if (line.find("\"csv, \"\"quoted\"\"\"") != std::string::npos) last_quoted = line;
    EXPECT_NE(line.find('Z'), std::string::npos) << line;
  }
  EXPECT_FALSE(last_quoted.empty()) << "the prompt is CSV-escaped";
}

TEST(ServerLoading, HealthIs503WhileLoadingAndBadModelDoesNotCrash) {
  // The model path is a FIFO: opening it blocks until we open the other end, so the
  // server is reliably still "loading" while we ask.
  char tmpl[] = "/tmp/minictr-infer-fifo-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string fifo = dir + "/model.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ServerOptions opt;
  opt.model_path = fifo;
  opt.host = "127.0.0.1";
  opt.port = 0;
  opt.threads = 1;
  opt.metrics_log = dir + "/missing-dir/metrics.csv";
  opt.chat_history = dir + "/missing-dir/chat_history.json";
  {
    InferenceServer srv(opt);
    int port = srv.start();
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(json::parse(r->body)["error"]["message"], "Loading model");
    auto p = c.Post("/completion", R"({"prompt":"a"})", "application/json");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->status, 503);
    int fd = ::open(fifo.c_str(), O_WRONLY);  // unblocks the loader, which then reads an empty file
    ASSERT_GE(fd, 0);
    ::close(fd);
    EXPECT_FALSE(srv.wait_loaded());
    EXPECT_NE(srv.load_error().find("too small"), std::string::npos) << srv.load_error();
    auto h = c.Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 500);
  }
  std::filesystem::remove_all(dir);
}

// stop() right after start(), before the listener thread is running: httplib's stop() is a
// no-op until then, and the join used to wait forever. Run in a child so a hang is a failure.
TEST(ServerLoading, StopRightAfterStartReturns) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ServerOptions opt;
    opt.model_path = "/nonexistent/model.gguf";
    opt.host = "127.0.0.1";
    opt.port = 0;
    opt.threads = 1;
    opt.metrics_log = "/nonexistent/metrics.csv";
    opt.chat_history = "/nonexistent/chat_history.json";
    for (int i = 0; i < 30; i++) {
      InferenceServer srv(opt);
      srv.start();
      srv.stop();
    }
    _exit(0);
  }
  int status = 0;
  for (int waited_ms = 0; waitpid(child, &status, WNOHANG) == 0; waited_ms += 10) {
    if (waited_ms > 20000) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      FAIL() << "start(); stop() hung";
    }
    usleep(10000);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServerMetricsLog, MissingDirectoryWarnsAndContinues) {
  MetricsLog log("/nonexistent-minictr-dir/metrics.csv");
  MetricsRow row;
  row.prompt = "x";
  log.append(row);  // must not throw
  log.append(row);
  EXPECT_EQ(csv_escape("plain"), "plain");
  EXPECT_EQ(csv_escape("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_escape("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
  std::string ts = iso_timestamp_now();
  EXPECT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
}

}  // namespace
}  // namespace mctr::infer
