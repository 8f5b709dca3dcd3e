// The pure parts of `minictr login`: base64, Docker's config.json "auths"
// (keys as Docker writes and reads them), the file's round trip and mode.
#include "registry/auth_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "registry/login.h"
#include "util/error.h"
#include "util/fs.h"

using namespace mctr::registry;
using nlohmann::json;

TEST(Base64, RoundTripsEveryPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("alice:s3cr:et"), "YWxpY2U6czNjcjpldA==");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t n = 0; n < 8; ++n)
    EXPECT_EQ(base64_decode(base64_encode(all.substr(0, all.size() - n))), all.substr(0, all.size() - n));
}

TEST(Base64, RefusesWhatIsNotBase64) {
  EXPECT_FALSE(base64_decode("Zg="));       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Z!=="));      // not in the alphabet
  EXPECT_FALSE(base64_decode("Zg==Zm9v"));  // padding before the end
  EXPECT_FALSE(base64_decode("===="));
}

TEST(AuthFile, DockerConfigIsRead) {
  // What `docker login localhost:5000` and `docker login` (Hub) write.
  json config = json::parse(R"({"auths":{"localhost:5000":{"auth":"YWxpY2U6czNjcjpldA=="},
    "https://index.docker.io/v1/":{"auth":"Ym9iOmh1Yg=="}},"credsStore":""})");
  auto local = find_credentials(config, "localhost:5000");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->username, "alice");
  EXPECT_EQ(local->password, "s3cr:et");  // only the first ':' separates
  auto hub = find_credentials(config, "docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "bob");
  EXPECT_FALSE(find_credentials(config, "localhost:5001"));
  EXPECT_FALSE(
      find_credentials(json::parse(R"({"auths":{"h:1":{"auth":"bm9jb2xvbg=="}}})"), "h:1"));  // "nocolon"
  EXPECT_FALSE(find_credentials(json::parse(R"({"auths":{"h:1":{"auth":"***"}}})"), "h:1"));
  EXPECT_FALSE(find_credentials(json::parse(R"({"auths":[]})"), "h:1"));
  EXPECT_FALSE(find_credentials(json::parse("[]"), "h:1"));
}

TEST(AuthFile, KeyWithSchemeOrPathNamesTheSameHost) {
  json config = json::parse(R"({"auths":{"https://reg.example:5000/v2/":{"auth":"YTpi"}}})");
  ASSERT_TRUE(find_credentials(config, "reg.example:5000"));
  EXPECT_FALSE(find_credentials(config, "reg.example"));
  EXPECT_TRUE(remove_credentials(config, "reg.example:5000"));
  EXPECT_TRUE(config["auths"].empty());
  EXPECT_FALSE(remove_credentials(config, "reg.example:5000"));
}

TEST(AuthFile, SetReplacesAndKeepsTheRest) {
  json config = json::parse(
      R"({"auths":{"http://h:1":{"auth":"b2xkOm9sZA=="},"other:2":{"auth":"YTpi"}},"proxies":{}})");
  set_credentials(config, "h:1", {"alice", "pw"});
  EXPECT_FALSE(config["auths"].contains("http://h:1"));  // the old entry for that host went
  EXPECT_EQ(config["auths"]["h:1"]["auth"], base64_encode("alice:pw"));
  EXPECT_TRUE(config["auths"].contains("other:2"));
  EXPECT_TRUE(config.contains("proxies"));
  set_credentials(config, "docker.io", {"bob", "x"});
  EXPECT_TRUE(config["auths"].contains("https://index.docker.io/v1/"));
}

TEST(AuthFile, FileRoundTripIsPrivate) {
  char tmpl[] = "/tmp/auth_file_test.XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::filesystem::path dir = tmpl;
  ::unsetenv("MINICTR_AUTH_FILE");
  std::filesystem::path file = auth_file_path(dir);
  EXPECT_EQ(file, dir / "auth.json");
  EXPECT_TRUE(read_auth_file(file).empty());  // none yet: nothing stored
  json config = read_auth_file(file);
  set_credentials(config, "127.0.0.1:5000", {"alice", "pa ss"});
  ::umask(0);  // the mode must not depend on the caller's umask being strict
  write_auth_file(file, config);
  ::umask(022);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = stored_credentials(dir, "127.0.0.1:5000");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->password, "pa ss");
  // The file is Docker's format, readable by docker and podman as it is.
  EXPECT_EQ(json::parse(mctr::fs::read_file(file))["auths"]["127.0.0.1:5000"]["auth"], "YWxpY2U6cGEgc3M=");
  ::setenv("MINICTR_AUTH_FILE", (dir / "elsewhere.json").c_str(), 1);
  EXPECT_EQ(auth_file_path(dir), dir / "elsewhere.json");
  EXPECT_FALSE(stored_credentials(dir, "127.0.0.1:5000"));
  ::unsetenv("MINICTR_AUTH_FILE");
  mctr::fs::write_file(file, "not json");
  EXPECT_THROW((void)read_auth_file(file), mctr::Error);
  std::filesystem::remove_all(dir);
}

TEST(Login, ServerNames) {
  EXPECT_EQ(normalize_registry("https://127.0.0.1:5000/"), "127.0.0.1:5000");
  EXPECT_EQ(normalize_registry("localhost:5000"), "localhost:5000");
  EXPECT_EQ(normalize_registry("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(normalize_registry("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(normalize_registry(""), "docker.io");
}
