// The pure parts of the credential helpers (registry/credential_helper.h):
// which helper the auth file names for a registry, and the helper's answers.
// A real helper (docker-credential-pass) runs in test_registry_cred_helper.sh.
#include "registry/credential_helper.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

using namespace mctr::registry;
using nlohmann::json;

TEST(CredentialHelper, PerRegistryHelperWinsOverCredsStore) {
  json config = json::parse(R"({"credsStore":"pass","credHelpers":{"gcr.io":"gcloud",
    "https://127.0.0.1:5000":"secretservice"},"auths":{"gcr.io":{"auth":"YTpi"}}})");
  EXPECT_EQ(helper_for(config, "gcr.io"), "gcloud");
  EXPECT_EQ(helper_for(config, "127.0.0.1:5000"), "secretservice");  // a key with a scheme names the host
  EXPECT_EQ(helper_for(config, "127.0.0.1:5001"), "pass");           // another port: the store
  EXPECT_EQ(helper_for(config, "docker.io"), "pass");
}

TEST(CredentialHelper, NoHelperLeavesTheInlineEntry) {
  EXPECT_EQ(helper_for(json::parse(R"({"auths":{"h:1":{"auth":"YTpi"}}})"), "h:1"), std::nullopt);
  EXPECT_EQ(helper_for(json::parse(R"({"credsStore":""})"), "h:1"), std::nullopt);  // Docker's "none"
  EXPECT_EQ(helper_for(json::parse(R"({"credHelpers":{"h:1":""},"credsStore":"pass"})"), "h:1"),
            std::nullopt);
  EXPECT_EQ(helper_for(json::parse("{}"), "h:1"), std::nullopt);
  EXPECT_EQ(helper_for(json::parse("[]"), "h:1"), std::nullopt);
}

TEST(CredentialHelper, DockerHubKeys) {
  EXPECT_EQ(helper_for(json::parse(R"({"credHelpers":{"https://index.docker.io/v1/":"hub"}})"), "docker.io"),
            "hub");
  EXPECT_EQ(helper_for(json::parse(R"({"credHelpers":{"index.docker.io":"hub"}})"), "docker.io"), "hub");
  EXPECT_EQ(helper_for(json::parse(R"({"credHelpers":{"docker.io":"hub"}})"), "docker.io"), "hub");
  EXPECT_EQ(helper_for(json::parse(R"({"credHelpers":{"docker.io":"hub"}})"), "quay.io"), std::nullopt);
}

TEST(CredentialHelper, BadNamesAreRefused) {
  EXPECT_THROW((void)helper_for(json::parse(R"({"credsStore":"../../tmp/x"})"), "h:1"),
               CredentialHelperError);
  EXPECT_THROW((void)helper_for(json::parse(R"({"credsStore":7})"), "h:1"), CredentialHelperError);
  EXPECT_THROW((void)helper_for(json::parse(R"({"credHelpers":{"h:1":["pass"]}})"), "h:1"),
               CredentialHelperError);
  // A bad entry for another registry does not matter.
  EXPECT_EQ(helper_for(json::parse(R"({"credHelpers":{"h:2":"a/b"}})"), "h:1"), std::nullopt);
}

TEST(CredentialHelper, GetAnswers) {
  auto c =
      parse_get_answer("docker-credential-x", R"({"ServerURL":"h:1","Username":"alice","Secret":"pa ss"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pa ss");
  EXPECT_EQ(c->identity_token, "");
  // Username "<token>": the Secret is an identity token, not a password.
  auto t =
      parse_get_answer("docker-credential-x", R"({"ServerURL":"h:1","Username":"<token>","Secret":"rt-1"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->username, "");
  EXPECT_EQ(t->password, "");
  EXPECT_EQ(t->identity_token, "rt-1");
  // docker-credential-pass 0.6 answers a miss with empty fields and exit 0.
  EXPECT_FALSE(parse_get_answer("docker-credential-x", R"({"ServerURL":"h:1","Username":"","Secret":""})"));
  EXPECT_FALSE(parse_get_answer("docker-credential-x", "{}"));
}

TEST(CredentialHelper, BadGetAnswersNameTheHelper) {
  try {
    (void)parse_get_answer("docker-credential-x", "oops\nsecond line");
    FAIL() << "no error";
  } catch (const CredentialHelperError& e) {
    EXPECT_EQ(std::string(e.what()), "docker-credential-x get: its answer is not a JSON object: 'oops'");
    EXPECT_EQ(e.exit_code(), 125);
  }
  EXPECT_THROW((void)parse_get_answer("docker-credential-x", R"({"Secret":"s"})"), CredentialHelperError);
  EXPECT_THROW((void)parse_get_answer("docker-credential-x", "[]"), CredentialHelperError);
}

TEST(CredentialHelper, NotFoundAnswer) {
  EXPECT_TRUE(is_not_found_answer("credentials not found in native keychain\n"));
  EXPECT_FALSE(is_not_found_answer("error: credentials not found in native keychain, and more"));
  EXPECT_FALSE(is_not_found_answer(""));
}

TEST(CredentialHelper, ListAndStore) {
  auto l = parse_list_answer("docker-credential-x", R"({"h:1":"alice","https://index.docker.io/v1/":"bob"})");
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l["h:1"], "alice");
  EXPECT_EQ(parse_list_answer("docker-credential-x", "{}").size(), 0u);
  EXPECT_THROW((void)parse_list_answer("docker-credential-x", ""), CredentialHelperError);

  json s = json::parse(store_request("h:1", {"alice", "pa\"ss", ""}));
  EXPECT_EQ(s, json::parse(R"({"ServerURL":"h:1","Username":"alice","Secret":"pa\"ss"})"));
  json t = json::parse(store_request("h:1", {"", "", "rt-1"}));
  EXPECT_EQ(t, json::parse(R"({"ServerURL":"h:1","Username":"<token>","Secret":"rt-1"})"));
}

TEST(CredentialHelper, MissingProgramIsOneLineNamingIt) {
  char tmpl[] = "/tmp/cred_helper_test.XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", tmpl, 1);
  try {
    (void)CredentialHelper("minictr-test-none").get("h:1");
    FAIL() << "no error";
  } catch (const CredentialHelperError& e) {
    EXPECT_EQ(std::string(e.what()).find("docker-credential-minictr-test-none: not found in $PATH"), 0u)
        << e.what();
  }
  ::setenv("PATH", old_path.c_str(), 1);
  std::filesystem::remove_all(tmpl);
}
