// The chat page's parts without a server: the chat template, the history file, the
// container panel's cgroup reader (on fake cgroup trees in a temp dir).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "server/chat_history.h"
#include "server/chat_page.h"
#include "server/chat_template.h"
#include "server/container_info.h"

namespace mctr::infer {
namespace {

namespace fsys = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/minictr-chat-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fsys::remove_all(path); }
  void write(const std::string& rel, const std::string& text) const {
    fsys::create_directories(fsys::path(path + "/" + rel).parent_path());
    std::ofstream(path + "/" + rel) << text;
  }
  std::string read(const std::string& rel) const {
    std::ifstream in(path + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string path;
};

std::string bad_request_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const BadRequest& e) {
    return e.what();
  }
  return "(no BadRequest)";
}

// --- chat template ---

TEST(ChatTemplate, RendersSystemAndTurnsAndEndsWithTheAssistantCue) {
  auto msgs = parse_chat_messages(json::parse(R"([
    {"role":"system","content":"You tell stories."},
    {"role":"user","content":"Hi"},
    {"role":"assistant","content":"Hello."},
    {"role":"user","content":[{"type":"text","text":"A story"},{"type":"text","text":", please"}]}])"));
  EXPECT_EQ(render_chat(msgs),
            "You tell stories.\n\nUser: Hi\nAssistant: Hello.\nUser: A story, please\nAssistant:");
  EXPECT_EQ(render_chat({{"user", "x"}}), "User: x\nAssistant:");
}

TEST(ChatTemplate, BadMessagesAreClearErrors) {
  EXPECT_NE(bad_request_message([] { parse_chat_messages(json()); }).find("missing 'messages'"),
            std::string::npos);
  EXPECT_NE(bad_request_message([] { parse_chat_messages(json::array()); }).find("empty"), std::string::npos);
  EXPECT_NE(bad_request_message([] {
              parse_chat_messages(json::parse(R"([{"role":"robot","content":"x"}])"));
            }).find("must be system, user or assistant"),
            std::string::npos);
  EXPECT_NE(bad_request_message([] {
              parse_chat_messages(json::parse(R"([{"role":"user"}])"));
            }).find("messages[0].content' is missing"),
            std::string::npos);
  EXPECT_NE(bad_request_message([] {
              parse_chat_messages(
                  json::parse(R"([{"role":"user","content":"a"},{"role":"assistant","content":"b"}])"));
            }).find("last message must have role 'user'"),
            std::string::npos);
  EXPECT_NE(bad_request_message([] {
              parse_chat_messages(json::parse(R"([{"role":"user","content":[{"type":"image_url"}]}])"));
            }).find("only text"),
            std::string::npos);
  std::string huge(kChatMessageMaxBytes + 1, 'a');
  EXPECT_NE(bad_request_message([&] {
              parse_chat_messages(json::array({{{"role", "user"}, {"content", huge}}}));
            }).find("the limit is 65536"),
            std::string::npos);
}

TEST(ChatTemplate, FittingDropsTheOldestTurnsButKeepsSystemAndLastMessage) {
  std::vector<ChatMessage> msgs = {{"system", "S"},   {"user", "one"},       {"assistant", "two"},
                                   {"user", "three"}, {"assistant", "four"}, {"user", "q"}};
  int dropped = -1;
  std::string text = render_chat_fitting(
      msgs, [](const std::string& t) { return t.size() <= 50; }, &dropped);
  EXPECT_EQ(text, "S\n\nUser: three\nAssistant: four\nUser: q\nAssistant:");
  EXPECT_EQ(dropped, 2);
  // Whole exchanges go: the transcript never starts with an assistant turn.
  EXPECT_EQ(render_chat_fitting(
                msgs, [](const std::string& t) { return t.size() <= 45; }, &dropped),
            "S\n\nUser: q\nAssistant:");
  EXPECT_EQ(dropped, 4);
  EXPECT_NE(bad_request_message([&] {
              render_chat_fitting(
                  msgs, [](const std::string& t) { return t.size() < 10; }, nullptr);
            }).find("does not fit the model's context"),
            std::string::npos);
}

// --- history file ---

TEST(ChatHistory, AppendsSavesAtomicallyAndReloads) {
  TempDir d;
  std::string path = d.path + "/chat_history.json";
  {
    ChatHistory h(path, 100, 1 << 20);
    h.load();
    EXPECT_EQ(h.messages().size(), 0u);
    EXPECT_EQ(h.append({{{"role", "user"}, {"content", "hi \"there\""}},
                        {{"role", "assistant"}, {"content", "yo"}}}),
              "");
  }
  json doc = json::parse(d.read("chat_history.json"));
  EXPECT_EQ(doc["version"], 1);
  ASSERT_EQ(doc["messages"].size(), 2u);
  EXPECT_EQ(doc["messages"][0]["content"], "hi \"there\"");
  // No temp file left next to it.
  int files = 0;
  for (auto& e : fsys::directory_iterator(d.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);

  ChatHistory again(path, 100, 1 << 20);
  again.load();
  EXPECT_EQ(again.messages(), doc["messages"]);
  EXPECT_EQ(again.load_warning(), "");
  EXPECT_EQ(again.clear(), "");
  EXPECT_EQ(json::parse(d.read("chat_history.json"))["messages"].size(), 0u);
}

TEST(ChatHistory, CapsDropTheOldestMessages) {
  TempDir d;
  ChatHistory by_count(d.path + "/a.json", 4, 1 << 20);
  for (int i = 0; i < 5; i++)
    by_count.append({{{"role", "user"}, {"content", "u" + std::to_string(i)}},
                     {{"role", "assistant"}, {"content", "a" + std::to_string(i)}}});
  auto m = by_count.messages();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0]["content"], "u3");
  EXPECT_EQ(m[3]["content"], "a4");

  ChatHistory by_bytes(d.path + "/b.json", 1000, 4096);
  for (int i = 0; i < 20; i++)
    by_bytes.append({{{"role", "user"}, {"content", std::string(500, 'x') + std::to_string(i)}}});
  EXPECT_LE(d.read("b.json").size(), 4096u);
  auto b = by_bytes.messages();
  ASSERT_GE(b.size(), 2u);
  EXPECT_EQ(b.back()["content"], std::string(500, 'x') + "19");
}

TEST(ChatHistory, AnUnusableFileIsMovedAsideNotLost) {
  TempDir d;
  d.write("h.json", "{\"messages\": [not json");
  ChatHistory h(d.path + "/h.json", 10, 1 << 20);
  h.load();
  EXPECT_EQ(h.messages().size(), 0u);
  EXPECT_NE(h.load_warning().find("not valid JSON"), std::string::npos) << h.load_warning();
  EXPECT_EQ(d.read("h.json.bad"), "{\"messages\": [not json");
  EXPECT_TRUE(h.to_json().contains("warning"));

  d.write("i.json", R"({"messages":[{"role":"user","content":5}]})");
  ChatHistory i(d.path + "/i.json", 10, 1 << 20);
  i.load();
  EXPECT_NE(i.load_warning().find("without a string role and content"), std::string::npos)
      << i.load_warning();

  d.write("j.json", R"({"messages":[{"role":"robot","content":"x"}]})");
  ChatHistory j(d.path + "/j.json", 10, 1 << 20);
  j.load();
  EXPECT_NE(j.load_warning().find("role 'robot'"), std::string::npos) << j.load_warning();

  // A file far past the cap is moved aside unread.
  d.write("k.json", std::string(5000, ' ') + R"({"messages":[]})");
  ChatHistory k(d.path + "/k.json", 10, 256);
  k.load();
  EXPECT_NE(k.load_warning().find("5015 bytes, more than 16 times the cap"), std::string::npos)
      << k.load_warning();
  EXPECT_TRUE(fsys::exists(d.path + "/k.json.bad"));
}

TEST(ChatHistory, AnUnwritableFileIsAnErrorStringNotAnException) {
  ChatHistory h("/nonexistent-minictr-dir/h.json", 10, 1 << 20);
  h.load();
  std::string err = h.append({{{"role", "user"}, {"content", "x"}}});
  EXPECT_NE(err.find("cannot save the chat history"), std::string::npos) << err;
  EXPECT_NE(err.find("/nonexistent-minictr-dir/h.json"), std::string::npos) << err;
  EXPECT_EQ(h.messages().size(), 1u);
}

// --- no-JS page ---

TEST(ChatPage, EscapesMessagesAndErrors) {
  std::string page = render_chat_page(json::array({{{"role", "user"}, {"content", "<script>x</script>"}}}),
                                      "bad \"input\"", {{"prompt", "a&b"}});
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("bad &quot;input&quot;"), std::string::npos);
  EXPECT_NE(page.find(">a&amp;b</textarea>"), std::string::npos);
  EXPECT_NE(page.find("action=\"/chat\""), std::string::npos);
}

// --- container panel ---

TEST(ContainerInfo, ReadsCgroupV2Files) {
  TempDir d;
  d.write("cgroup.controllers", "cpu memory pids\n");
  d.write("memory.max", "536870912\n");
  d.write("memory.current", "12345678\n");
  d.write("cpu.max", "50000 100000\n");
  d.write("cpu.stat", "usage_usec 777\nuser_usec 500\n");
  d.write("pids.max", "max\n");
  d.write("pids.current", "7\n");
  json j = container_info(d.path, "0::/\n");
  EXPECT_EQ(j["in_container"], true);
  EXPECT_EQ(j["cgroup"], "v2");
  EXPECT_EQ(j["memory"]["limit_bytes"], 536870912);
  EXPECT_EQ(j["memory"]["usage_bytes"], 12345678);
  EXPECT_EQ(j["cpu"]["quota_us"], 50000);
  EXPECT_EQ(j["cpu"]["period_us"], 100000);
  EXPECT_DOUBLE_EQ(j["cpu"]["limit_cpus"].get<double>(), 0.5);
  EXPECT_EQ(j["cpu"]["usage_usec"], 777);
  EXPECT_TRUE(j["pids"]["limit"].is_null());
  EXPECT_EQ(j["pids"]["current"], 7);

  d.write("memory.max", "max\n");
  d.write("cpu.max", "max 100000\n");
  json u = container_info(d.path, "0::/\n");
  EXPECT_TRUE(u["memory"]["limit_bytes"].is_null());
  EXPECT_TRUE(u["cpu"]["limit_cpus"].is_null());
}

TEST(ContainerInfo, ReadsCgroupV1Files) {
  TempDir d;
  d.write("memory/memory.limit_in_bytes", "268435456\n");
  d.write("memory/memory.usage_in_bytes", "1000\n");
  d.write("cpu/cpu.cfs_quota_us", "150000\n");
  d.write("cpu/cpu.cfs_period_us", "100000\n");
  d.write("cpuacct/cpuacct.usage", "5000000\n");
  d.write("pids/pids.max", "64\n");
  d.write("pids/pids.current", "3\n");
  json j = container_info(d.path, "5:pids:/\n4:memory:/\n1:cpu,cpuacct:/\n");
  EXPECT_EQ(j["in_container"], true);
  EXPECT_EQ(j["cgroup"], "v1");
  EXPECT_EQ(j["memory"]["limit_bytes"], 268435456);
  EXPECT_DOUBLE_EQ(j["cpu"]["limit_cpus"].get<double>(), 1.5);
  EXPECT_EQ(j["cpu"]["usage_usec"], 5000);
  EXPECT_EQ(j["pids"]["limit"], 64);

  // v1's "no limit": a huge number, and a quota of -1.
  d.write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  d.write("cpu/cpu.cfs_quota_us", "-1\n");
  json u = container_info(d.path, "4:memory:/\n");
  EXPECT_TRUE(u["memory"]["limit_bytes"].is_null());
  EXPECT_TRUE(u["cpu"]["limit_cpus"].is_null());
}

TEST(ContainerInfo, NotInAContainer) {
  TempDir d;
  json none = container_info(d.path + "/absent", "0::/\n");
  EXPECT_EQ(none["in_container"], false);
  EXPECT_NE(none["message"].get<std::string>().find("not in a container"), std::string::npos);

  d.write("cgroup.controllers", "memory\n");
  d.write("memory.current", "1\n");
  json host = container_info(d.path, "0::/user.slice/session-1.scope\n");
  EXPECT_EQ(host["in_container"], false);
  EXPECT_EQ(host["memory"]["usage_bytes"], 1);
}

}  // namespace
}  // namespace mctr::infer
